"""One rule says which variant is a model's baseline (liteship.baseline.is_baseline), and nothing else spells it."""

import ast
from pathlib import Path

from liteship.baseline import BASELINE_RECIPE, is_baseline

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [p for d in ("liteship", "bench", "optimize", "trainer") for p in (ROOT / d).rglob("*.py")]


def _recipe_comparisons(tree: ast.AST) -> list[int]:
    """Lines comparing something named recipe (or a key's recipe slot) with the string "float32"."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare):
            continue
        sides = [node.left, *node.comparators]
        literal = any(isinstance(s, ast.Constant) and s.value == "float32" or
                      isinstance(s, (ast.Tuple, ast.List)) and any(isinstance(e, ast.Constant) and e.value == "float32"
                                                                  for e in s.elts) for s in sides)
        named = any("recipe" in ast.unparse(s) or ast.unparse(s) == "key[1]" for s in sides)
        if literal and named:
            found.append(node.lineno)
    return found


def test_the_rule():
    assert BASELINE_RECIPE == "float32"  # the recipe the README and every report call the float baseline
    assert is_baseline("float32") and not is_baseline("float16") and not is_baseline(None)


def test_no_recipe_is_compared_with_float32_outside_the_rule():
    found = {str(p.relative_to(ROOT)): lines for p in SOURCES if p.name != "baseline.py" or p.parent.name != "liteship"
             if (lines := _recipe_comparisons(ast.parse(p.read_text(encoding="utf-8"))))}
    assert not found, f"compare with liteship.baseline.is_baseline instead: {found}"


def test_the_scan_finds_one_written_by_hand():
    assert _recipe_comparisons(ast.parse('x = r.recipe == "float32"\ny = t.recipe in ("int8", "float32")\n'
                                         'z = spec.dtype == "float32"')) == [1, 2]


def test_the_registry_declares_the_baseline_recipe():
    from liteship.optimize import get_recipe

    assert get_recipe(BASELINE_RECIPE).summary.startswith("plain conversion, float32 weights")


def test_the_judge_takes_the_baseline_record_by_the_rule():
    from liteship.bench import BenchRecord
    from liteship.judge.baseline import float_record

    def rec(recipe, top1):
        return BenchRecord(recipe[:4], "m", recipe, None, None, 32, "xnnpack", 1, "", "run", "ok", 10, 9, None, None,
                           top1=top1)
    records = [rec("int8", 0.9), rec("float16", 0.91), rec("float32", 0.92)]
    assert float_record(records, "m", "xnnpack", 1).top1 == 0.92
