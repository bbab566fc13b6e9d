"""The layers of ARCHITECTURE.md hold in the code: each module imports only its own layer and those below.

Read from the source with ``ast`` (every import, also those inside functions), every module at every depth
(``bench/backends/`` is bench), so a new upward import fails here before it confuses a contributor. A backend's
kind is asked, never compared as a string, outside the registry (``bench/backends/``).
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Folder in the repository -> (import name, layer). Lower layers never import higher ones.
PACKAGES = {"trainer": ("liteship.trainer", 1), "optimize": ("liteship.optimize", 2), "bench": ("liteship.bench", 3),
            "liteship/judge": ("liteship.judge", 4), "liteship/report": ("liteship.report", 5),
            "liteship/workflow": ("liteship.workflow", 6), "liteship/app": ("liteship.app", 7)}
CORE = 0
MAX_FILE_LINES = 400
MAX_FUNCTION_LINES = 60


def layer_of(module: str) -> int:
    for name, layer in sorted(PACKAGES.values(), key=lambda p: -len(p[0])):
        if module == name or module.startswith(name + "."):
            return layer
    return CORE  # liteship itself and liteship.<core module>


def package_of(path: Path) -> tuple[str, int]:
    """(import name, layer) of a source file at any depth: its deepest package folder's, else core."""
    rel = path.relative_to(ROOT).as_posix()
    for folder, (name, layer) in sorted(PACKAGES.items(), key=lambda kv: -len(kv[0])):
        if rel.startswith(folder + "/"):
            return name, layer
    # liteship/__main__.py is `python -m liteship`: the application's entry, not core.
    return "liteship", (7 if rel == "liteship/__main__.py" else CORE)


def source_files():
    """Every module of liteship at every depth (subpackages such as bench/backends/ included)."""
    paths = {p for folder in (*PACKAGES, "liteship") for p in (ROOT / folder).rglob("*.py")
             if "__pycache__" not in p.parts}
    return [(p, *package_of(p)) for p in sorted(paths)]


def imports(tree: ast.AST) -> list[str]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append(node.module)
        elif isinstance(node, ast.Import):
            out += [a.name for a in node.names]
    return out


def test_every_module_imports_only_its_layer_and_below():
    upward = []
    for path, _, layer in source_files():
        for module in imports(ast.parse(path.read_text())):
            if module.split(".")[0] == "liteship" and layer_of(module) > layer:
                upward.append(f"{path.relative_to(ROOT)} (layer {layer}) imports {module} (layer {layer_of(module)})")
    assert not upward, "\n".join(upward)


def test_the_check_catches_an_upward_import():
    assert layer_of("liteship.judge.gate") == 4 > layer_of("liteship.bench.run") == 3
    assert layer_of("liteship.app") == 7 and layer_of("liteship.files") == CORE


def test_no_old_top_level_imports_and_no_relative_ones():
    bad = []
    for path, _, _ in source_files():
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level:
                bad.append(f"{path.relative_to(ROOT)}: relative import")
        bad += [f"{path.relative_to(ROOT)}: import {m}" for m in imports(tree)
                if m.split(".")[0] in ("trainer", "optimize", "bench")]
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("path", [p for p, _, _ in source_files()], ids=lambda p: str(p.relative_to(ROOT)))
def test_files_and_functions_stay_small(path):
    text = path.read_text()
    assert len(text.splitlines()) <= MAX_FILE_LINES
    lines = text.splitlines()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = node.end_lineno - node.lineno + 1
            reason = "# long:" in "\n".join(lines[node.lineno - 1:node.end_lineno])
            assert length <= MAX_FUNCTION_LINES or reason, f"{node.name} has {length} lines and no '# long:' reason"


def test_code_refers_to_no_file_outside_the_repository():
    for path, _, _ in source_files():
        assert "DESIGN.md" not in path.read_text(), path


def test_every_depth_is_read():
    """The subpackages are read, each at its package's layer (the glob one level deep missed bench/backends/)."""
    found = {p.relative_to(ROOT).as_posix(): layer for p, _, layer in source_files()}
    assert {"bench/backends/__init__.py", "bench/backends/litert_cpu.py", "bench/backends/valgrind.py"} <= set(found)
    assert found["bench/backends/qemu_arm64.py"] == 3 and found["liteship/judge/gate.py"] == 4
    assert found["liteship/workflow/sweep.py"] == 6 and found["liteship/__main__.py"] == 7
    assert found["liteship/files.py"] == CORE


# A backend's kind, as the registry names them ("x86": the valgrind count, a kind of its own before it was a backend).
REGISTRY = "bench/backends/"
KIND_NAMES = {"run", "count", "coverage", "x86"}
KIND_FILTERS = ("names", "sweep_defaults")  # the registry's listings, which take a test of a backend, not a kind name


def _kind_strings(node: ast.AST) -> set[str]:
    """The kind names a side of a comparison spells: a string, or a tuple, list or set of them."""
    items = node.elts if isinstance(node, (ast.Tuple, ast.List, ast.Set)) else [node]
    return {i.value for i in items if isinstance(i, ast.Constant) and isinstance(i.value, str)} & KIND_NAMES


def kind_comparisons(source: str) -> list[str]:
    """Each comparison of a kind with a kind's name as a string (``r.kind == "run"``, ``kind in ("run", "count")``,
    ``backends.get(b).kind != "coverage"``), and each kind name given to the registry's listings
    (``names("count")``): the source of each, by line. A side counts as a kind when its text says ``kind``, so
    ``status == "ok"`` or ``mode == "run"`` are not taken."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            for i, side in enumerate(sides):
                others = sides[:i] + sides[i + 1:]
                if _kind_strings(side) and any("kind" in ast.unparse(o).lower() for o in others):
                    found.append(f"line {node.lineno}: {ast.unparse(node)}")
                    break
        elif isinstance(node, ast.Call) and ast.unparse(node.func).split(".")[-1] in KIND_FILTERS and \
                any(_kind_strings(a) for a in node.args):
            found.append(f"line {node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, ast.Match) and "kind" in ast.unparse(node.subject).lower() and \
                any(isinstance(p, ast.MatchValue) and _kind_strings(p.value) for c in node.cases
                    for p in ast.walk(c.pattern)):  # match r.kind: case "run": ...
            found.append(f"line {node.lineno}: match {ast.unparse(node.subject)}")
    return found


def test_no_string_comparison_with_a_backend_kind_outside_the_registry():
    """Behaviour that depends on a backend's kind is asked of the kind (``r.kind.times``, ``b.kind.counts``):
    a new kind then touches its backend's module and the registry, not every place that compared names."""
    bad = [f"{path.relative_to(ROOT)} {hit}" for path, _, _ in source_files()
           if not path.relative_to(ROOT).as_posix().startswith(REGISTRY)
           for hit in kind_comparisons(path.read_text())]
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("snippet", ['r.kind == "run"', '"count" != rec.kind', 'kind in ("run", "count")',
                                     'backends.get(b).kind == "coverage"', 'kind[b] == "run"',
                                     'b.kind.value == "count"', 'if kind == "x86": pass',
                                     'backends.names("run", "coverage")', 'registry.sweep_defaults("count")',
                                     'a < record_kind(r) == "run"',
                                     'match r.kind:\n    case "count" | "x86": pass'])
def test_the_kind_check_catches_a_string_comparison(snippet):
    assert len(kind_comparisons(snippet)) == 1, snippet


@pytest.mark.parametrize("snippet", ['r.kind.times', 'status == "ok"', 'mode == "run"', 'label.startswith("count ")',
                                     'doc.get("count") == kind', 'backends.names(lambda b: b.kind.counts)',
                                     'f(kind, "run")', 'r.kind is Kind.RUN', '"x86" if isa == "x86_64" else "arm"',
                                     'match mode:\n    case "run": pass'])
def test_the_kind_check_leaves_other_strings_alone(snippet):
    assert kind_comparisons(snippet) == [], snippet
