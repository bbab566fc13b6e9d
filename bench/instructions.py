"""Instruction counts per invoke: a latency measure that does not move with the machine's load.

The variant runs under valgrind's callgrind, which counts only the instructions executed inside the
LiteRT Interpreter's ``Invoke`` (``--toggle-collect``), for 2 and then 3 invokes; the difference is one
steady-state invoke, exactly, on every repeat. Under valgrind XNNPACK picks its FMA3/AVX2 kernels even on
an AVX-512 host, so counts compare across x86 hosts with the same liteship, LiteRT and valgrind versions,
which the record names. ``by_op`` sums the per-invoke count by kernel family, labelled with the TFLite
ops that run on it, read from callgrind's per-function counts: XNNPACK micro-kernels by their names (``gemm``/``igemm``: convolutions and fully
connected layers; ``dwconv``: depthwise convolutions; pooling, elementwise, activation, softmax and
conversion kernels), LiteRT's own builtin kernels by op, and the rest (the runtime's bookkeeping) as
``other``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from liteship.errors import LiteshipError

CHILD = Path(__file__).with_name("instructions_child.py")
TOGGLE = "*InterpreterWrapper::Invoke*"
INSTALL = "sudo apt-get install valgrind (Debian, Ubuntu), or your system's valgrind package"
FAMILIES = (
    (r"xnn_.*_(i?gemm)", "gemm (CONV_2D, FULLY_CONNECTED)"),
    (r"xnn_.*_dwconv", "dwconv (DEPTHWISE_CONV_2D)"),
    (r"xnn_.*(maxpool|argmaxpool)", "maxpool (MAX_POOL_2D)"),
    (r"xnn_.*(avgpool|gavgpool|rsum|rdsum|reduce)", "average / reduce (AVERAGE_POOL_2D, MEAN)"),
    (r"xnn_.*(raddstoreexpminusmax|vscaleexpminusmax|rmax|softmax)", "softmax (SOFTMAX)"),
    (r"xnn_.*(vadd|vmul|vsub|vbinary|vopc|vop)", "elementwise (ADD, MUL, SUB)"),
    (r"xnn_.*(vclamp|vrelu|vlrelu|vhswish|vsigmoid|vtanh)", "activation"),
    (r"xnn_.*(cvt|vcvt|requantiz)", "convert (QUANTIZE, DEQUANTIZE)"),
    (r"tflite::ops::builtin::(\w+)::", None),  # LiteRT's own kernel: named by its op
)


def valgrind() -> str | None:
    """valgrind's version line, or None when it is not installed."""
    exe = shutil.which("valgrind")
    if exe is None:
        return None
    proc = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60)
    return proc.stdout.strip() or None


def require_valgrind() -> str:
    version = valgrind()
    if version is None:
        raise LiteshipError("Instruction counts need valgrind, which is not installed",
                            "liteship counts the instructions of each invoke under valgrind's callgrind",
                            f"install it ({INSTALL}) or leave out --instructions")
    return version


def _count(path: Path, invokes: int, workdir: Path) -> dict[str, int]:
    """Per-function instruction counts inside Invoke for ``invokes`` invokes (key "" holds the total)."""
    out = workdir / f"callgrind.{invokes}.out"
    cmd = ["valgrind", "--tool=callgrind", f"--toggle-collect={TOGGLE}", f"--callgrind-out-file={out}",
           sys.executable, str(CHILD), str(path), str(invokes)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    if proc.returncode != 0 or not out.is_file():
        raise LiteshipError(f"valgrind could not count {path}: {proc.stderr.strip()[-300:]}",
                            "the model runs under callgrind in a child process", "bench it without --instructions")
    report = subprocess.run(["callgrind_annotate", "--inclusive=no", "--threshold=100", str(out)],
                            capture_output=True, text=True, timeout=300).stdout
    counts = {"": 0}
    for line in report.splitlines():
        found = re.match(r"\s*([\d,]+) \(\s*[\d.]+%\)\s+(.*)$", line)
        if not found:
            continue
        ir, what = int(found.group(1).replace(",", "")), found.group(2)
        if what.startswith("PROGRAM TOTALS"):
            counts[""] = ir
            continue
        function = what.split(":", 1)[-1].split(" [")[0]
        counts[function] = counts.get(function, 0) + ir
    return counts


def family(function: str) -> str:
    for pattern, name in FAMILIES:
        found = re.search(pattern, function)
        if found:
            return name or f"builtin {found.group(1).upper()}"
    return "other (runtime bookkeeping, copies)"


def count_instructions(path: str | Path) -> dict:
    """``{per_invoke, first_invoke, by_op, tool, method}`` for one .tflite on LiteRT's XNNPACK interpreter."""
    from liteship.versions import system_info

    tool = require_valgrind()
    with tempfile.TemporaryDirectory(prefix="liteship-callgrind-") as tmp, ThreadPoolExecutor(2) as pool:
        two, three = pool.map(lambda n: _count(Path(path), n, Path(tmp)), (2, 3))
    per_invoke = three[""] - two[""]
    if two[""] <= 0 or per_invoke <= 0:  # a count of 0 would pass any instruction budget: never report one
        raise RuntimeError(f"callgrind counted {per_invoke} instructions per invoke inside {TOGGLE}: the symbol was "
                           "not matched (a LiteRT upgrade may have renamed it), so there is no count")
    by_op: dict[str, int] = {}
    for function in set(two) | set(three):
        if function:
            steady = three.get(function, 0) - two.get(function, 0)
            if steady:
                by_op[family(function)] = by_op.get(family(function), 0) + steady
    return {"per_invoke": per_invoke, "first_invoke": two[""] - per_invoke, "isa": "x86_64", "threads": 1,
            "by_op": dict(sorted(by_op.items(), key=lambda kv: -kv[1])),
            "tool": {"valgrind": tool, "ai-edge-litert": system_info()["versions"].get("ai-edge-litert"),
                     "liteship": system_info()["versions"].get("liteship")},
            "method": f"callgrind --toggle-collect='{TOGGLE}', 3 invokes minus 2, one thread"}
