"""Progress: a bar on a terminal, plain log lines otherwise (CI logs, pipes)."""

from __future__ import annotations

import sys
import time


class Progress:
    """Report progress to ``stream``; ``bar=None`` picks a bar when it is a terminal."""

    def __init__(self, stream=None, bar: bool | None = None, quiet: bool = False):
        self.stream = stream if stream is not None else sys.stderr
        self.bar = (hasattr(self.stream, "isatty") and self.stream.isatty()) if bar is None else bar
        self.quiet = quiet

    def log(self, message: str) -> None:
        if not self.quiet:
            print(message, file=self.stream, flush=True)

    def iterate(self, items, desc: str):
        """Wrap an iterable: a tqdm bar on a terminal, a start and end line otherwise."""
        items = list(items)
        if self.quiet:
            yield from items
            return
        if self.bar:
            from tqdm import tqdm

            yield from tqdm(items, desc=desc, file=self.stream, leave=False)
            return
        start = time.perf_counter()
        self.log(f"{desc}: {len(items)} ...")
        yield from items
        self.log(f"{desc}: done in {time.perf_counter() - start:.1f} s")

    __call__ = iterate
