"""The layers of ARCHITECTURE.md hold in the code: each module imports only its own layer and those below.

Read from the source with ``ast`` (every import, also those inside functions),
so a new upward import fails here before it confuses a contributor.
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


def source_files():
    files = []
    for folder, (name, layer) in PACKAGES.items():
        files += [(p, name, layer) for p in sorted((ROOT / folder).glob("*.py"))]
    # liteship/__main__.py is `python -m liteship`: the application's entry, not core.
    files += [(p, "liteship", 7 if p.name == "__main__.py" else CORE) for p in sorted((ROOT / "liteship").glob("*.py"))]
    return files


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
