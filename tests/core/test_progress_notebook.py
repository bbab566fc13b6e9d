"""Progress in Jupyter: tqdm's notebook bar where an IPython kernel runs the code, the terminal bar elsewhere, and
the terminal bar (said once) in a kernel without ipywidgets. The kernel is a fake shell object put in
``sys.modules``; what is checked is which tqdm class gets constructed."""

import sys
import types

import pytest
import tqdm

import liteship.progress as progress_module
from liteship.progress import Progress, in_kernel

REAL_TQDM = tqdm.tqdm


class ZMQInteractiveShell:  # ipykernel's shell, as far as the class name goes
    pass


class ColabShell(ZMQInteractiveShell):  # google.colab's shell derives from ipykernel's
    pass


class TerminalInteractiveShell:  # `ipython` in a terminal: no kernel, no widgets
    pass


def _fake_ipython(monkeypatch, shell) -> None:
    fake = types.ModuleType("IPython")
    fake.get_ipython = lambda: shell
    monkeypatch.setitem(sys.modules, "IPython", fake)


def _recording(made: list, name: str):
    """A tqdm subclass that notes its own construction: the class a bar was made with."""

    class Recording(REAL_TQDM):
        def __init__(self, *args, **kwargs):
            made.append(name)
            kwargs.pop("file", None)
            super().__init__(*args, file=open("/dev/null", "w"), **kwargs)  # noqa: SIM115

    return Recording


@pytest.fixture
def made(monkeypatch):
    """Replace tqdm's terminal bar and a notebook module with ipywidgets by recorders; return what was built."""
    built: list[str] = []
    monkeypatch.setattr(tqdm, "tqdm", _recording(built, "terminal"))
    notebook = types.ModuleType("tqdm.notebook")
    notebook.IProgress = object  # ipywidgets is there
    notebook.tqdm = _recording(built, "notebook")
    monkeypatch.setitem(sys.modules, "tqdm.notebook", notebook)
    monkeypatch.setattr(tqdm, "notebook", notebook, raising=False)
    monkeypatch.setattr(progress_module, "_said_no_widgets", False)
    return built


def _one_bar(progress: Progress) -> None:
    with progress.steps(3, "work") as steps:
        for _ in range(3):
            steps.step()


@pytest.mark.parametrize("shell", [ZMQInteractiveShell(), ColabShell()], ids=["jupyter", "colab"])
def test_a_kernel_gets_the_notebook_bar(monkeypatch, made, shell):
    _fake_ipython(monkeypatch, shell)
    assert in_kernel()
    _one_bar(Progress())  # the console: under pytest not a terminal, so outside a kernel this would be lines
    assert made == ["notebook"]
    _one_bar(Progress(quiet=True))
    assert made == ["notebook"]  # quiet: no bar at all


@pytest.mark.parametrize("shell", [None, TerminalInteractiveShell()], ids=["plain-python", "terminal-ipython"])
def test_elsewhere_the_terminal_bar_or_lines(monkeypatch, made, shell):
    _fake_ipython(monkeypatch, shell)
    assert not in_kernel()
    _one_bar(Progress(bar=True))
    assert made == ["terminal"]
    _one_bar(Progress())  # stderr is pytest's capture, not a terminal: a line per step, no bar
    assert made == ["terminal"]


def test_a_named_stream_in_a_kernel_keeps_its_form(monkeypatch, made):
    import io

    _fake_ipython(monkeypatch, ZMQInteractiveShell())
    out = io.StringIO()
    _one_bar(Progress(stream=out))
    assert made == [] and out.getvalue().count("[") == 0  # lines=True but no desc per step: nothing per step
    _one_bar(Progress(stream=out, bar=True))
    assert made == ["terminal"]


def test_no_ipython_in_sys_modules_means_no_kernel_and_no_import(monkeypatch):
    monkeypatch.delitem(sys.modules, "IPython", raising=False)
    assert not in_kernel()
    assert "IPython" not in sys.modules


def test_a_kernel_without_ipywidgets_gets_the_terminal_bar_and_one_note(monkeypatch, made, capsys):
    sys.modules["tqdm.notebook"].IProgress = None  # what tqdm.notebook holds when ipywidgets is missing
    _fake_ipython(monkeypatch, ZMQInteractiveShell())
    for _ in range(3):
        _one_bar(Progress())
    assert made == ["terminal"] * 3
    err = capsys.readouterr().err
    assert err.count("ipywidgets is not installed") == 1 and "pip install ipywidgets" in err


def test_the_real_tqdm_notebook_without_ipywidgets_falls_back(monkeypatch, capsys):
    """The installed tqdm.notebook, imported in a (fake) kernel where ipywidgets is absent: a text bar, no error."""
    pytest.importorskip("tqdm.notebook")
    if "ipywidgets" in sys.modules or _installed("ipywidgets"):
        pytest.skip("ipywidgets is installed here")
    _fake_ipython(monkeypatch, ZMQInteractiveShell())
    monkeypatch.setattr(progress_module, "_said_no_widgets", False)
    _one_bar(Progress())
    assert capsys.readouterr().err.count("ipywidgets is not installed") == 1


def _installed(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None
