"""``liteship explain``'s text: a variant's ops, what they read and write, each op's quantization error, and how it
differs from another."""

from __future__ import annotations

from liteship.bench import backends, differences, Explained, X86_64
from liteship.report.format import millions, percent


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]], right: tuple[int, ...]) -> list[str]:
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]
    fmt = "  ".join(f"{{:{'>' if i in right else '<'}{w}}}" for i, w in enumerate(widths))
    return [fmt.format(*header), fmt.format(*("-" * w for w in widths)), *(fmt.format(*r) for r in rows)]


def timed_where(backend: str | None) -> str:
    """Where the p50 of ``backend`` was timed, in words true of it: "x86 CPU" (this machine's), or, for a backend
    that times elsewhere (a device's, imported; a prediction from counts, not measured), its own summary."""
    b = backends.find(backend) if backend else None
    if b is None:
        return "a backend this liteship does not know"
    if not b.kind.here:
        return b.summary
    return ("x86 CPU" if b.isa == X86_64 else f"this machine's {b.isa} CPU") + \
        (" (emulated: its time says nothing of a phone's)" if b.emulated_time else "")


def describe(e: Explained) -> list[str]:
    lat = f", p50 {e.p50_ms:.3f} ms on {e.latency_backend} ({timed_where(e.latency_backend)})" \
        if e.p50_ms is not None else ""
    counted = e.instructions
    instr = f", {millions(counted.per_invoke)} instructions per invoke ({'valgrind' if counted.on_x86 else 'QEMU'})" \
        if counted and counted.counted else ""
    lines = [f"{e.variant}: {e.model} {e.recipe}, {e.size_bytes / 1024:.1f} KB, "
             f"{e.macs / 1e6:.2f} M multiply-adds per invoke{lat}{instr}", ""]
    rows = [(g.op, str(g.count), g.inputs or "–", g.weights or "–", g.outputs or "–",
             f"{g.macs / 1e6:.3f}" if g.macs else "–", percent(e.mac_share(g.macs)) if g.macs else "–")
            for g in sorted(e.groups, key=lambda g: (-g.macs, g.op))]
    lines += _table(("op", "count", "inputs", "weights", "outputs", "M MACs", "MAC share"), rows, (1, 5, 6))
    if e.by_family:
        lines += ["", "instructions per invoke by kernel family (callgrind, XNNPACK interpreter):"]
        fam = [(name, f"{n / 1e6:.3f}", percent(e.instruction_share(n)))
               for name, n in e.by_family.items()]
        lines += _table(("kernel family", "M instr", "share"), fam, (1, 2))
    else:
        lines += ["", "instructions: not counted for this variant (sweep with [bench] instructions = true, "
                      "or `liteship bench --instructions`)"]
    return lines + op_errors(e)


def _short(tensor: str, width: int = 44) -> str:
    """A fused op's output name by its first part (the converter joins the fused ops' names with ';')."""
    first = tensor.split(";")[0]
    return first if len(first) <= width else "…" + first[-(width - 1):]


def op_errors(e: Explained) -> list[str]:
    """Each op's quantization error, worst first, beside its multiply-adds and its kernel family's instructions."""
    if not e.op_errors:
        return ["", f"per-op quantization error: not measured. {e.op_error_note}"] if e.op_error_note else []
    rows = []
    for row in e.op_errors:
        err = row.error
        fam = row.family.split(" (")[0] + " " + millions(e.by_family[row.family]) if row.family else "–"
        rows.append((str(err.index), err.op + (f" (float {err.float_op})" if err.float_op else ""), _short(err.tensor),
                     "= float" if err.exact else f"{err.snr_db:.1f}", f"{err.cosine:.5f}", f"{err.mse:.3g}",
                     f"{row.macs / 1e6:.3f}" if row.macs else "–", fam))
    table = _table(("#", "op", "output", "SNR dB", "cosine", "MSE", "M MACs", "its kernel family's instr"),
                   rows, (0, 3, 4, 5, 6))
    return ["", "quantization error per op, worst first: each op's output against the float model's, on "
                f"{e.op_error_images} calibration images", *_fine_tuned(e), "(LiteRT Quantizer's validator; SNR: the "
                "float output's power over the error's; = float: the same output on every image):",
            *(line.rstrip() for line in table)]


def _fine_tuned(e: Explained) -> list[str]:
    if not e.fine_tuned:
        return []
    return [f"the float model is the original one, before {e.recipe}'s fine-tuning: each error includes the weights "
            "the fine-tuning changed, not only the quantization's"]


def render(e: Explained, other: Explained | None = None) -> str:
    lines = describe(e)
    if other is not None:
        lines += ["", "-" * 72, *describe(other), "", f"what differs ({e.recipe} vs {other.recipe}):"]
        diffs = differences(e, other)
        lines += [f"  - {d}" for d in diffs] or ["  - nothing in the graph: the same ops with the same dtypes"]
        ratio = e.latency_ratio(other)
        if ratio is not None and e.latency_backend == other.latency_backend:
            lines.append(f"  - p50 {e.p50_ms:.3f} ms vs {other.p50_ms:.3f} ms ({ratio:.2f}×)")
        elif ratio is not None:  # two places (a device's and this CPU's, a prediction): no ratio between them
            lines.append(f"  - p50 not compared: {e.p50_ms:.3f} ms on {e.latency_backend}, {other.p50_ms:.3f} ms on "
                         f"{other.latency_backend}")
    return "\n".join(lines) + "\n"
