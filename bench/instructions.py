"""Instruction counts per invoke: a latency measure that does not move with the machine's load.

The variant runs under valgrind's callgrind, which counts only the instructions executed inside the
LiteRT Interpreter's ``Invoke`` (``--toggle-collect``) and writes each invoke's counts apart
(``--dump-after``): three invokes in one run, the first (with its one-off setup) and the third, a
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
from pathlib import Path

from liteship.errors import LiteshipError
from liteship.signals import preexec

CHILD = Path(__file__).with_name("instructions_child.py")
TOGGLE = "*InterpreterWrapper::Invoke*"
# The same function as callgrind names it: --dump-after takes no wildcards.
INVOKE = "tflite::interpreter_wrapper::InterpreterWrapper::Invoke(int)"
INVOKES = 3  # the first has the one-off setup; the second and third are the same, instruction for instruction
INSTALL = "sudo apt-get install valgrind (Debian, Ubuntu), or your system's valgrind package"
# valgrind's time limit grows with the work: the slowest rate measured on a 2-core x86 VM was ResNet-50's, 1,351 s for
# its 3 invokes of about 3.9 G multiply-adds (1.2e-7 s per multiply-add of an invoke; InceptionV3, 5.7 G, took 1,260 s),
# and the limit is three times that rate (a shared machine runs slower), never under the floor (small models spend
# their time loading Python and LiteRT under valgrind, not in their multiply-adds).
SECONDS_PER_MAC = 1.2e-7
LIMIT_MARGIN = 3.0
LIMIT_FLOOR_S = 900.0
TIME_LIMIT_RULE = (f"{LIMIT_MARGIN:g} x {SECONDS_PER_MAC:g} s per multiply-add of each of the {INVOKES} invokes, "
                   f"at least {LIMIT_FLOOR_S:.0f} s")
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
    (r"tflite::(?:reference_ops|optimized_ops|reference_integer_ops|optimized_integer_ops)::(\w+)", None),
    # the shared kernels LiteRT's ops call (reference_ops::HardSwish<signed char> is int8 HARD_SWISH's work)
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


def model_macs(path: str | Path) -> int:
    """Multiply-adds per invoke of a .tflite (convolutions and fully connected layers), as explain counts them."""
    from liteship.bench.explain import op_groups

    return sum(g.macs for g in op_groups(Path(path).read_bytes(), str(path)))


def time_limit(macs: int) -> float:
    """Seconds valgrind may take to count a model of ``macs`` multiply-adds per invoke (TIME_LIMIT_RULE)."""
    return max(LIMIT_FLOOR_S, LIMIT_MARGIN * SECONDS_PER_MAC * INVOKES * macs)


def _each_invoke(path: Path, workdir: Path) -> list[dict[str, int]]:
    """Per-function instruction counts inside each of INVOKES invokes, in order (key "" holds the total)."""
    out = workdir / "callgrind.out"
    cmd = ["valgrind", "--tool=callgrind", f"--toggle-collect={TOGGLE}", f"--dump-after={INVOKE}",
           f"--callgrind-out-file={out}", sys.executable, str(CHILD), str(path), str(INVOKES)]
    limit = time_limit(model_macs(path))
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=limit, preexec_fn=preexec())
    except subprocess.TimeoutExpired as exc:  # subprocess.run has killed valgrind, and the model with it
        raise RuntimeError(f"valgrind took over its limit of {limit:.0f} s ({TIME_LIMIT_RULE})") from exc
    if proc.returncode != 0 or not out.is_file():
        said = proc.stderr.strip()[-300:] or proc.stdout.strip()[-300:]
        raise RuntimeError(f"valgrind exited with code {proc.returncode}" + (f": {said}" if said else ""))
    dumps = [workdir / f"callgrind.out.{i}" for i in range(1, INVOKES + 1)]
    if not all(d.is_file() for d in dumps):
        raise RuntimeError(f"callgrind wrote no count after each {INVOKE}: the symbol was not matched (a LiteRT "
                           "upgrade may have renamed it), so there is no count")
    return [_function_counts(d) for d in dumps]


def _function_counts(dump: Path) -> dict[str, int]:
    """Each function's own instruction count in one callgrind dump (key "" holds the dump's total), read from
    the file: a cost line after ``calls=`` is the call's inclusive cost and is skipped (callgrind_annotate counts
    it for the functions still on the stack when the dump is written: Python's frames around the invoke)."""
    names: dict[str, str] = {}
    counts: dict[str, int] = {"": 0}
    function, after_call = "", False
    for line in dump.read_text(errors="replace").splitlines():
        key, _, value = line.partition("=")
        if key in ("fn", "cfn"):
            found = re.match(r"\((\d+)\)(?: (.*))?$", value)
            name = value if not found else names.setdefault(found.group(1), found.group(2) or "")
            if key == "fn":
                function = name
        elif key == "calls":
            after_call = True
        elif line.startswith("summary:"):
            counts[""] = int(line.split()[1])
        elif line[:1].isdigit() or line[:1] in "+-*":
            fields = line.split()
            if not after_call and len(fields) > 1:
                counts[function] = counts.get(function, 0) + int(fields[1])
            after_call = False
    return counts


def family(function: str) -> str:
    for pattern, name in FAMILIES:
        found = re.search(pattern, function)
        if found:
            return name or f"builtin {re.sub(r'(?<=[a-z0-9])(?=[A-Z])', '_', found.group(1)).upper()}"
    return "other (runtime bookkeeping, copies)"


def count_instructions(path: str | Path) -> dict:
    """The :class:`~liteship.bench.record.Instructions` (in its JSON form, as a counts file keeps it) of one .tflite on LiteRT's XNNPACK interpreter; a count
    that fails (valgrind's exit, its time limit, nothing counted) raises RuntimeError saying why."""
    from liteship.bench.record import X86_64, Instructions
    from liteship.versions import system_info

    tool = require_valgrind()
    with tempfile.TemporaryDirectory(prefix="liteship-callgrind-") as tmp:
        first, *_, steady = _each_invoke(Path(path), Path(tmp))
    if first[""] <= 0 or steady[""] <= 0:  # a count of 0 would pass any instruction budget: never report one
        raise RuntimeError(f"callgrind counted {steady['']} instructions per invoke inside {TOGGLE}: the symbol was "
                           "not matched (a LiteRT upgrade may have renamed it), so there is no count")
    by_op: dict[str, int] = {}
    for function, count in steady.items():
        if function and count:
            by_op[family(function)] = by_op.get(family(function), 0) + count
    return Instructions(
        steady[""], X86_64, first[""], 1, dict(sorted(by_op.items(), key=lambda kv: -kv[1])),
        {"valgrind": tool, "ai-edge-litert": system_info()["versions"].get("ai-edge-litert"),
         "liteship": system_info()["versions"].get("liteship")},
        f"callgrind --toggle-collect='{TOGGLE}' --dump-after: the third of {INVOKES} invokes, one thread").to_dict()
