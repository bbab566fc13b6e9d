"""One import name: the distribution installs ``liteship`` and nothing else, and its pytest plugin stays inert.

Checked from outside the repository, where the repository's own folders are
not on ``sys.path``: what a user's environment sees.
"""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_wheel_holds_only_the_liteship_import_name(tmp_path):
    src = tmp_path / "src"  # a copy: setuptools builds in the source tree
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".venv", ".git", "runs", "build", "*.egg-info",
                                                             "__pycache__", ".pytest_cache"))
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(src)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    wheel = next(tmp_path.glob("liteship-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names} == {"liteship", wheel.name.split("-")[0] + "-" +
                                               wheel.name.split("-")[1] + ".dist-info"}
    # Every module of the repository's package folders, at every depth, is in the wheel (a subpackage missing from
    # pyproject's list installs a liteship whose imports fail, while the editable install hides it).
    folders = {"liteship": "", "trainer": "trainer/", "optimize": "optimize/", "bench": "bench/"}
    expected = {f"liteship/{prefix}{p.relative_to(ROOT / folder).as_posix()}" for folder, prefix in folders.items()
                for p in (ROOT / folder).rglob("*.py") if "__pycache__" not in p.parts}
    assert expected - set(names) == set()
    assert "liteship/bench/op_runtime_versions.json" in names and "liteship/bench/qemu/count.c" in names
    entry_points = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "liteship = liteship.app.cli:entry" in entry_points and "liteship = liteship.app.pytest_plugin" in entry_points


def test_the_old_top_level_names_do_not_import_outside_the_repository(tmp_path):
    code = ("import importlib, sys\n"
            "for name in ('bench', 'trainer', 'optimize'):\n"
            "    try:\n        importlib.import_module(name)\n        sys.exit(name + ' imported')\n"
            "    except ImportError:\n        pass\n"
            "import liteship.trainer, liteship.optimize, liteship.bench, liteship.judge, liteship.report, liteship.app\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]


def test_a_users_own_bench_module_and_pytest_run_are_untouched(tmp_path):
    (tmp_path / "bench.py").write_text("def speed():\n    return 42\n")
    (tmp_path / "test_mine.py").write_text(
        "import sys\n\nimport bench\n\n\n"
        "def test_mine():\n"
        "    assert bench.speed() == 42\n"
        "    loaded = sorted(m for m in sys.modules if m.startswith('liteship'))\n"
        "    assert loaded == ['liteship', 'liteship.app', 'liteship.app.pytest_plugin', 'liteship.errors'], loaded\n"
        "    assert 'numpy' not in sys.modules and 'tensorflow' not in sys.modules\n")
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:benchmark"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0 and "1 passed" in proc.stdout, proc.stdout[-3000:]
    helps = subprocess.run([sys.executable, "-m", "pytest", "--help"], capture_output=True, text=True, cwd=tmp_path,
                           timeout=300)
    assert "--liteship-run" in helps.stdout  # the plugin is loaded, and it added nothing but its options
