"""Progress: a bar on a terminal, a notebook bar in Jupyter, plain log lines otherwise (CI logs, pipes). The one
progress helper.

Everything goes to :func:`liteship.logs.console`, so it reaches the terminal
also while framework logs are sent to the run's log file. Where an IPython
kernel runs this code (Jupyter, Colab), the bar is tqdm's notebook widget;
without ipywidgets it is tqdm's text bar, said once.
"""

from __future__ import annotations

import sys
import time

from liteship.logs import console


PRIOR_SHARE = 0.15  # of a run's expected cost: how much the expected pace weighs against the measured one
_said_no_widgets = False  # the text-bar note is said once per process, not once per bar


def in_kernel() -> bool:
    """True where an IPython kernel (Jupyter, Colab) runs this code: the running shell is ipykernel's
    ``ZMQInteractiveShell`` (Colab's shell derives from it). Looked up in ``sys.modules`` only: IPython is never
    imported here, and a terminal IPython is not a kernel."""
    ipython = sys.modules.get("IPython")
    get_ipython = getattr(ipython, "get_ipython", None)
    if get_ipython is None:
        return False
    try:
        shell = get_ipython()
    except Exception:  # a half-imported or unusual IPython: no kernel to count on
        return False
    return shell is not None and any(c.__name__ == "ZMQInteractiveShell" for c in type(shell).__mro__)


def bar_class(progress: "Progress"):
    """The tqdm class a bar is made with: the notebook widget in a kernel when ipywidgets is there, else the
    terminal bar (one line says why, the first time)."""
    global _said_no_widgets
    from tqdm import tqdm

    if not progress.notebook:
        return tqdm
    try:
        from tqdm import notebook
    except ImportError:
        return tqdm
    if getattr(notebook, "IProgress", None) is None:  # no ipywidgets: the widget would raise when made
        if not _said_no_widgets:
            _said_no_widgets = True
            progress.log("progress: a text bar, as ipywidgets is not installed (pip install ipywidgets for a "
                         "notebook bar)")
        return tqdm
    return notebook.tqdm


class Steps:
    """Counts steps towards ``total``: a tqdm bar on a terminal, else one line per step with elapsed time and ETA."""

    def __init__(self, progress: "Progress", total: int, desc: str, unit: str, lines: bool,
                 costs: dict[str, float] | None = None):
        self.progress, self.total, self.done, self.lines = progress, max(total, 1), 0, lines
        self.start = time.perf_counter()
        # Expected seconds of each step by its key: the remaining time is the elapsed time scaled by the expected
        # cost still to come, so one long step (a MobileNet's training) does not make the ETA of the rest swing.
        self.costs = dict(costs or {})
        self.total_cost = sum(self.costs.values()) if costs else None
        self.done_cost = 0.0
        self._credited: set[str] = set()  # steps whose cost is counted as done before their line
        self.bar = None
        if progress.bar and not progress.quiet:
            self.bar = bar_class(progress)(total=self.total, desc=desc, file=progress.stream, unit=unit, leave=False)

    def eta(self, elapsed: float) -> float:
        """Seconds still to go: by expected cost when the steps have costs, else by count.

        With costs, the cost still to come is scaled by how fast this machine has been so far, judged from the
        elapsed time and the cost done, plus a prior of PRIOR_SHARE of the total at the expected pace: so the
        first short step (which carries the processes' start) does not multiply the whole remaining time, and
        the pace converges to the one measured as the work is done.
        """
        if self.total_cost is None:
            return elapsed / self.done * (self.total - self.done)
        prior = PRIOR_SHARE * self.total_cost
        pace = (elapsed + prior) / (self.done_cost + prior) if self.done_cost + prior > 0 else 1.0
        return pace * max(0.0, self.total_cost - self.done_cost)

    def expect(self, total: int) -> None:
        """The number of steps is now known to be ``total`` (never fewer than those done): work found only as it
        went (a sweep benches every current model of its run directory, also those its config does not name) or
        work that will not come (a recipe that failed has no variant to bench)."""
        self.total = max(total, self.done, 1)
        if self.bar is not None:
            self.bar.total = self.total
            self.bar.refresh()

    def finished(self, keys: list[str]) -> None:
        """Steps whose work all ended now (one job of several steps), reported one line each right after: every
        one of those lines counts all of them as done, so the first line's remaining time is not inflated."""
        for key in keys:
            if self.total_cost is not None and key not in self._credited:
                self.done_cost += self.costs.get(key, 0.0)
                self._credited.add(key)

    def step(self, desc: str | None = None, note: str = "", postfix: dict | None = None, key: str | None = None,
             skipped: bool = False) -> None:
        """One step done; ``key``: its entry in ``costs``; ``skipped``: it was done before, so took no time."""
        self.done += 1
        self.total = max(self.total, self.done)  # a line never says more steps done than there are
        if self.total_cost is not None:
            cost = self.costs.get(key, 0.0) if key is not None else 0.0
            if skipped:
                self.total_cost -= cost
            elif key in self._credited:
                self._credited.discard(key)
            else:
                self.done_cost += cost
        if self.bar is not None:
            if desc:
                self.bar.set_description(desc)
            if postfix:
                self.bar.set_postfix(postfix)
            self.bar.update(1)
            return
        if self.lines and desc:
            elapsed = time.perf_counter() - self.start
            eta = self.eta(elapsed)
            self.progress.log(f"[{self.done}/{self.total}] {desc}{note} - elapsed {elapsed:.0f} s, ETA {eta:.0f} s")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


class Progress:
    """Report progress to ``stream`` (default: the console); ``bar=None`` picks a bar when it is a terminal, or
    when the console is a notebook's (an IPython kernel runs this code and no ``stream`` was named)."""

    def __init__(self, stream=None, bar: bool | None = None, quiet: bool = False):
        self._stream, self._bar, self.quiet = stream, bar, quiet

    @property
    def stream(self):
        return self._stream if self._stream is not None else console()

    @property
    def notebook(self) -> bool:
        """Progress shows in a notebook's cell: the console in an IPython kernel (a named stream is kept as it is)."""
        return self._stream is None and in_kernel()

    @property
    def bar(self) -> bool:
        if self._bar is not None:
            return self._bar
        if self.notebook:
            return True
        isatty = getattr(self.stream, "isatty", None)
        return bool(isatty and isatty())

    def log(self, message: str) -> None:
        if not self.quiet:
            print(message, file=self.stream, flush=True)

    def steps(self, total: int, desc: str = "", unit: str = "step", lines: bool = True,
              costs: dict[str, float] | None = None) -> Steps:
        """A counter of ``total`` steps; ``lines=False``: no line per step when there is no bar; ``costs``: each
        step's expected seconds by key, which the ETA weighs the steps with."""
        return Steps(self, total, desc, unit, lines, costs)

    def iterate(self, items, desc: str):
        """Wrap an iterable: a bar on a terminal, a start and an end line otherwise."""
        items = list(items)
        if self.quiet:
            yield from items
            return
        start = time.perf_counter()
        if not self.bar:
            self.log(f"{desc}: {len(items)} ...")
        with self.steps(len(items), desc, unit="item", lines=False) as steps:
            for item in items:
                yield item
                steps.step()
        if not self.bar:
            self.log(f"{desc}: done in {time.perf_counter() - start:.1f} s")
