"""Load and invoke a model once in a child process first: a crash there is an error here, not a crash.

The LiteRT interpreter can crash (segfault, abort) or hang on a flatbuffer
that parses but is not sound. :func:`probe` runs the risky part in a child
Python and turns a signal, an error or a time-out into a clear message.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from liteship.errors import LiteshipError
from liteship.signals import preexec
from liteship.bench import backends

PROBE_TIMEOUT_S = 120


def probe(path: Path, names: tuple[str, ...], timeout: float = PROBE_TIMEOUT_S) -> None:
    runnable = [b for b in names if getattr(backends.find(b), "open", None) is not None]
    if not runnable:
        return
    cmd = [sys.executable, "-m", "liteship.bench.isolate", str(path), *runnable]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, preexec_fn=preexec())
    except subprocess.TimeoutExpired as exc:
        raise LiteshipError(f"{path} hangs the LiteRT interpreter (no answer in {timeout:.0f} s)",
                            "the model is damaged or pathological", "re-export the model") from exc
    if proc.returncode == 0:
        return
    if proc.returncode < 0:
        try:
            sig = signal.Signals(-proc.returncode).name
        except ValueError:
            sig = f"signal {-proc.returncode}"
        raise LiteshipError(f"{path} crashes the LiteRT interpreter ({sig}, caught in a child process)",
                            "the flatbuffer parses but does not describe a sound model", "re-export the model")
    last = (proc.stderr.strip().splitlines() or ["no message"])[-1][:300]
    raise LiteshipError(f"{path} cannot be run by LiteRT: {last}", "the interpreter refused the model",
                        "re-export the model, or check that its ops are supported")


def _child(path: str, names: list[str]) -> int:
    import numpy as np

    for name in names:
        session = backends.get(name).open(path, 1)
        shape = session.input_detail["shape"]
        session.set_input(session.feed(np.full((1, *shape[1:]), 128, np.uint8)))
        session.invoke()
        session.output()
    return 0


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1], sys.argv[2:]))
