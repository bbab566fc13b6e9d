"""x86 instructions per invoke of the reference backend's kernels, counted under valgrind's callgrind on this CPU.

Its count goes on the reference backend's one-thread records (``instructions``), not records of its own, and is
asked for by ``--instructions`` / ``[bench] instructions`` (``BenchOptions.instructions``); a sweep keeps it in
``counts/<ID>.x86.json``.
"""

from __future__ import annotations

from liteship.bench.backends import Backend, Kind
from liteship.bench.instructions import INSTALL


def _count(path, inputs, score: bool, input_note: str) -> dict:
    """valgrind's count of the file (it feeds its own mid-grey image: ``inputs`` are not run)."""
    from liteship.bench.instructions import count_instructions

    return count_instructions(path)


def _installed() -> bool:
    from liteship.bench.instructions import valgrind

    return valgrind() is not None


def _tools() -> dict:
    from liteship.bench.instructions import valgrind

    return {"valgrind": valgrind()}


BACKENDS = (
    Backend("x86", Kind.COUNT, "valgrind's callgrind: x86 instructions per invoke of the reference backend's XNNPACK "
                               "kernels on this CPU (AVX2/FMA3), on its one-thread records; --instructions asks for "
                               "it", rank=10, on_reference=True, inputs=False, count=_count, available=_installed,
            unavailable=INSTALL,
            tools=_tools, not_counted="instructions not counted", measures="x86 instructions",
            source="valgrind's count on this x86 CPU's kernels (AVX2/FMA3)"),
)
