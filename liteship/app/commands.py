"""What the ``liteship`` commands print: each result of :func:`liteship.workflow.execute.execute` as lines and
tables, and its exit code (the result's own ``exit_code``).

Parsing is :mod:`liteship.app.cli`'s job; checking, planning and the work :mod:`liteship.workflow`'s; numbers are
written by :mod:`liteship.report`. Nothing here checks, decides or reads a file.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

from liteship.logs import console
from liteship.number_formats import pt, pt_interval
from liteship.rundir import REPORT_HTML


def print_estimate(estimate) -> None:
    """The sweep's estimate, before its work starts."""
    from liteship.workflow.resources import duration, unknown_note

    workers = f"{estimate.workers} worker processes" if estimate.workers > 1 else "one worker"
    print(f"estimated: about {duration(estimate.seconds)} with {workers} (from costs measured on a 2-core x86, scaled "
          "by a probe of this machine; only the work still to do is counted), peak memory about "
          f"{estimate.peak_bytes / 1e9:.1f} GB{unknown_note(estimate.unknown)}", file=console())


def print_framework_log(result) -> None:
    if result.framework_log is not None:
        print(f"framework messages (TensorFlow, LiteRT, the converter): {result.framework_log}", file=sys.stderr)


def _train(result) -> None:
    for spec in result.archs:
        sizes = f"{spec.min_size}..{spec.max_size or 'any'} px, default {spec.default_size}"
        alphas = f"; alpha {', '.join(map(str, spec.alphas))}" if spec.alphas else ""
        print(f"{spec.name:14s} {spec.summary} ({sizes}{alphas})")
    trained = result.trained
    if trained is None:
        return
    val = "n/a" if trained.val_top1 is None else f"{trained.val_top1:.4f}"
    print(f"trained {trained.card['arch']} -> {trained.model_dir}")
    print(f"val_top1 {val}  test_top1 {trained.test_top1:.4f}  params {trained.card['params']}  "
          f"multiply-adds {trained.card['multiply_adds']}  time {trained.seconds:.1f} s")
    if trained.card["skipped_count"]:
        print(f"skipped {trained.card['skipped_count']} files (listed in card.json)")


def _optimize(result) -> None:
    for spec in result.recipes:
        fields = ", ".join(f"{f.name}={f.default!r}" for f in dataclasses.fields(spec.config_cls))
        print(f"{spec.name:15s} {spec.summary}" + (f"\n{'':15s} [{spec.name}] {fields}" if fields else ""))
    if result.recipes:
        return
    print(f"{'variant':13s} {'model':22s} {'recipe':15s} {'size':>10s} {'gzip':>10s} {'sparsity':>8s}  status")
    for r in result.records:
        ok = r.get("status") == "ok"
        size = f"{r['size_bytes']:>10d} {r['gzip_bytes']:>10d} {r['sparsity']:>8.3f}" if ok else f"{'':>10s} {'':>10s} {'':>8s}"
        print(f"{r['id']:13s} {r['model']:22s} {r['recipe']:15s} {size}  {'ok' if ok else 'FAILED: ' + r['error'][:200]}")
    if result.failed:
        print(f"{len(result.failed)} of {len(result.records)} variants failed; their reasons are in variants/ID.json",
              file=console())


def _stale(stale, what: str) -> None:
    for s in stale:
        print(f"stale: {s.id} ({s.model} {s.recipe}) kept on disk, not {what}: {s.why}")


def _bench(result) -> None:
    from liteship.report import bench_table

    for b in result.backends:
        print(f"{b.name:11s} {b.kind:8s} {b.summary}")
    if result.backends:
        return
    records = list(result.records)
    print(bench_table(records))
    for line in sorted({f"{r.variant}: {p}" for r in records for p in (r.contract or {}).get("problems", [])}):
        print(f"contract: {line}")
    _stale(result.stale, "benched")
    for line in result.runtime_notes + result.runtime_failures:
        print(line)


def _tracked(tracked) -> None:
    """What was logged to MLflow, or what was not and how to fill the gap."""
    lines = tracked.lines()
    if not tracked.ok:
        print(*lines, sep="\n", file=console())
    else:
        print(f"{lines[0]} in {tracked.seconds:.1f} s", *lines[1:], sep="\n")


def _sweep(result) -> None:
    from liteship.report import sweep_summary

    out = result.out
    print(sweep_summary(list(result.records)))
    print(f"sweep done in {result.seconds:.0f} s: {out}/report.md, {out}/report.html, {out}/pareto.png, "
          f"{out}/results.jsonl")
    if result.tracked is not None:
        _tracked(result.tracked)


def _gate(result) -> None:
    from liteship.report.verdicts import render

    print(render(list(result.verdicts)))
    _stale(result.stale, "judged")
    print(f"{len(result.passed)} of {len(result.verdicts)} variants pass every budget: gate "
          f"{'passed' if result.ok else 'FAILED'}")


def mediapipe_line(check) -> str:
    """What the release's check in MediaPipe Tasks found, in one line."""
    warning = f"\nwarning: {check.kernels_warning}" if check.kernels_warning else ""
    if check.change is not None:
        lo, hi = check.interval
        warning += (f"\nwarning: MediaPipe's top-1 differs from liteship's LiteRT path by {pt(check.change)} "
                    f"(95 % paired interval {pt_interval(lo, hi)} pt): its own resize is not the contract's; see "
                    "MODEL.md")
    if check.loaded:
        stretched = float("nan") if check.stretched_top1 is None else check.stretched_top1
        return (f"MediaPipe: model.tflite carries TFLite metadata and loads in {check.runtime}: top-1 "
                f"{check.top1:.4f} on the {check.images} test photos with the centre square as region of "
                f"interest (stretched whole: {stretched:.4f}), the same class as liteship's "
                f"LiteRT path on {check.agreement * 100:.1f} %" + warning)
    return f"MediaPipe: not checked ({check.error or 'no check'})" + warning


def _pick(result) -> None:
    report = Path(result.run_dir) / REPORT_HTML
    if result.release is None:
        print("no variant passes every budget; the closest misses:", file=console())
        for vv in result.misses:
            print(f"  {vv.variant} ({vv.model} {vv.recipe}):", file=console())
            for v in vv.verdicts:
                if not v.passed:
                    print(f"      {v.message}", file=console())
        print(f"report: {report} (its decision section says the same)", file=console())
        return
    chosen, decision = result.chosen, result.decision
    print(f"picked {chosen.variant} ({chosen.model} {chosen.recipe}): every budget passed")
    for v in chosen.verdicts:
        print(f"    {v.message}")
    for words in ([decision.target_said] if decision.target_said else []) + [
            f"left out {v}: {why}" for v, why in decision.left_out]:  # the app's runtime refuses them
        print(f"    {words}")
    if decision.tie is not None:  # --prefer accuracy could not tell the most accurate apart: say how it chose
        print(f"    {decision.tie.describe()}".replace("`", ""))
    if decision.ranked_on:  # --prefer latency on predictions: a prediction's upper end, a device's median
        print(f"    --prefer {decision.prefer} {decision.ranked_on}")
    print(f"release: {result.release}/ (model.tflite, labels.txt, manifest.json, MODEL.md, Classifier.swift)")
    print(mediapipe_line(result.mediapipe))
    print(f"report: {report} opens with this decision")
    if result.tracked is not None:
        _tracked(result.tracked)


def _compare(result) -> None:
    from liteship.judge import SAME_MEASUREMENTS
    from liteship.report.compare import render

    note = f"\nnote: {SAME_MEASUREMENTS}" if result.same_measurements else ""
    print(render(list(result.changes), list(result.added), list(result.removed)) + note)


def _explain(result) -> None:
    from liteship.report.explain import render

    print(render(result.explained, result.vs), end="")


def _runtimes_list(result) -> None:
    arm, sme2, mediapipe, *legacy = result.envs
    if arm.path is not None:
        facts = arm.facts
        print(f"arm64  {arm.path}  ({facts['qemu']}; aarch64 ai-edge-litert {facts['wheels'].get('ai-edge-litert')}, "
              f"numpy {facts['wheels'].get('numpy')}; plugin sha256 {facts['plugin_sha256'][:12]}; backends "
              f"{', '.join(facts['backends'])})")
    else:
        print(f"arm64  not installed: `{arm.install}` (as root) makes it")
    print(f"mediapipe  {mediapipe.path}  (metadata writers and ImageClassifier {mediapipe.version})"
          if mediapipe.path is not None else f"mediapipe  not installed: `{mediapipe.install}` makes it")
    print(f"{sme2.name}  {sme2.path}  ({sme2.facts['qemu']}, built from {sme2.facts.get('qemu_source')}; plugin sha256 "
          f"{sme2.facts['plugin_sha256'][:12]}; backends {', '.join(sme2.facts['backends'])})" if sme2.path is not None
          else f"{sme2.name}  not installed: `{sme2.install}` (as root; about 5 minutes) makes its SME2 QEMU")
    print(f"cache: {result.cache} (LITESHIP_CACHE moves it)")
    for env in legacy:
        print(f"{env.name} {env.version}  {env.path}")
    if not legacy:
        print("no runtime installed: `liteship runtimes install 2.14` makes one (needs PyPI)")


def _runtimes(result) -> None:
    if result.action == "list":
        return _runtimes_list(result)
    env = result.installed
    if env is not None and env.name in ("arm64", "arm64-a18"):
        print(f"{env.name} ready in {env.path} ({result.seconds:.0f} s): backends {', '.join(env.facts['backends'])}")
    elif env is not None and env.name == "mediapipe":
        print(f"mediapipe {env.version} ready in {env.path}: variants made from now on carry TFLite metadata, and "
              "pick checks the release in MediaPipe's ImageClassifier")
    elif env is not None:
        print(f"{env.name} {env.version} ready in {env.path}")
    for path in result.removed:
        print(f"removed {path}")
    if result.error is not None:
        raise result.error
    if env is None and not result.removed:
        print(f"no {result.name} environment in the cache" if result.name in ("arm64", "arm64-a18", "mediapipe") else
              f"no {result.name} {result.version} in the cache")


def _device(result) -> None:
    if result.command == "device kit":
        print(f"device kit: {len(result.files)} files in {result.out} (read {result.out}/README.md)")
        return
    if result.command == "device predict":
        _predictions(result.outcomes)
        return
    from liteship.bench import measured_on

    for r in result.records:
        print(f"{r.variant} ({r.model} {r.recipe}) as {r.backend}: {measured_on(r)}")
    print(f"merged {len(result.records)} device record(s) into {result.run_dir}/results.jsonl")
    _predictions(result.predictions)


def _extrapolated(record) -> str:
    """", extrapolated (1.80x below the counts measured; interval widened)" for a prediction beyond the counts its
    calibration was fitted on, "" inside them."""
    far = (record.device or {}).get("extrapolated")
    if not far:
        return ""
    how = f"{far['ratio']:.2f}x {far.get('side')} the counts measured; " if isinstance(far, dict) and \
        isinstance(far.get("ratio"), (int, float)) else ""
    return f", extrapolated ({how}interval widened)"


def _predictions(outcomes) -> None:
    """Each device backend's prediction, or why not and what to do; then each predicted variant with its interval
    (and "extrapolated" where its count lies outside the counts measured)."""
    for o in outcomes:
        print(o.said())
        for r in o.records:
            lat = r.latency_ms
            print(f"  {r.variant} ({r.model} {r.recipe}): predicted {lat.p50:.3f} ms, 95 % interval "
                  f"{lat.ci_low:.3f}-{lat.ci_high:.3f} ms{_extrapolated(r)}")


PRINTERS = {"train": _train, "optimize": _optimize, "bench": _bench, "sweep": _sweep, "gate": _gate, "pick": _pick,
            "compare": _compare, "explain": _explain, "track": _tracked, "runtimes": _runtimes,
            "device import": _device, "device kit": _device, "device predict": _device}


def show(result) -> None:
    """Print ``result`` as its command does (its exit code is ``result.exit_code``)."""
    PRINTERS[result.command](result)
