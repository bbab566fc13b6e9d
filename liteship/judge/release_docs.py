"""What the release bundle says to the app team: MODEL.md and Classifier.swift, from the numbers judged."""

from __future__ import annotations

import html
import textwrap

from liteship.bench import backends
from liteship.bench import BenchRecord, measured_on, with_article
from liteship.judge.budgets import budget_record, judged_latency, predicted, scored_record
from liteship.judge.costs import device_name, latency_source
from liteship.judge.decision import BEST, Decision
from liteship.judge.metadata_words import metadata_words
from liteship.judge.trained import Trained, trained_md
from liteship.number_formats import change_pt, millions, percent, percent_change, points, pt, pt_interval
from liteship.stats import wilson

SWIFT = """\
// Classifier.swift: written by liteship for {variant} ({model} {recipe}).
// TensorFlowLiteSwift, set up as liteship measured this model: {threads} thread(s), XNNPACK on
// (Interpreter.Options leaves XNNPACK off unless asked).{delegate}
{where}
import CoreGraphics
import Foundation
import TensorFlowLite

enum ClassifierError: Error {{ case preprocessing }}

final class Classifier {{
    static let inputSize = {size}
    let labels: [String]
    private let interpreter: Interpreter

    init(modelPath: String, labelsPath: String) throws {{
        var options = Interpreter.Options()
        options.threadCount = {threads}
        options.isXNNPackEnabled = true
        interpreter = try Interpreter(modelPath: modelPath, options: options)
        try interpreter.allocateTensors()
        labels = try String(contentsOfFile: labelsPath, encoding: .utf8)
            .split(separator: "\\n").map(String.init)
    }}

    /// The input contract: centre square crop, bilinear resize to {size}x{size}, RGB; {feed_short}.
    /// Core Graphics' interpolation is close to, not identical with, the bilinear resize liteship scored with.
    func classify(_ image: CGImage) throws -> [(label: String, probability: Float)] {{
        let side = min(image.width, image.height)
        let square = CGRect(x: (image.width - side) / 2, y: (image.height - side) / 2, width: side, height: side)
        guard let cropped = image.cropping(to: square) else {{ throw ClassifierError.preprocessing }}
        let n = Classifier.inputSize
        var rgba = [UInt8](repeating: 0, count: n * n * 4)
        let drawn: Bool = rgba.withUnsafeMutableBytes {{ buffer in
            guard let context = CGContext(data: buffer.baseAddress, width: n, height: n, bitsPerComponent: 8,
                                          bytesPerRow: n * 4, space: CGColorSpaceCreateDeviceRGB(),
                                          bitmapInfo: CGImageAlphaInfo.noneSkipLast.rawValue) else {{ return false }}
            context.interpolationQuality = .medium
            context.draw(cropped, in: CGRect(x: 0, y: 0, width: n, height: n))
            return true
        }}
        guard drawn else {{ throw ClassifierError.preprocessing }}
        var rgb = [UInt8]()
        rgb.reserveCapacity(n * n * 3)
        for pixel in 0..<(n * n) {{ rgb += rgba[(4 * pixel)..<(4 * pixel + 3)] }}  // drop the alpha byte
{feed_code}
        try interpreter.invoke()
        let output = try interpreter.output(at: 0)
{read_code}
        return zip(labels, probabilities).sorted {{ $0.1 > $1.1 }}.map {{ (label: $0.0, probability: $0.1) }}
    }}
}}
"""

FEED = {
    "uint8": ("raw bytes 0...255 (the input is uint8, scale 1/255, zero point 0)",
              "        try interpreter.copy(Data(rgb), toInputAt: 0)"),
    "int8": ("bytes minus 128 (the input is int8, scale 1/255, zero point -128)",
             "        try interpreter.copy(Data(rgb.map {{ UInt8(bitPattern: Int8(Int($0) - 128)) }}), toInputAt: 0)"),
    "float32": ("each byte divided by 255 as Float32 in [0, 1]",
                "        let floats = rgb.map {{ Float($0) / 255 }}\n"
                "        try interpreter.copy(floats.withUnsafeBufferPointer {{ Data(buffer: $0) }}, toInputAt: 0)"),
}
READ = {
    "float32": "        let probabilities = output.data.withUnsafeBytes {{ Array($0.bindMemory(to: Float.self)) }}",
    "uint8": "        let q = output.quantizationParameters!  // probabilities = scale * (byte - zero point)\n"
             "        let probabilities = output.data.map {{ q.scale * Float(Int($0) - q.zeroPoint) }}",
    "int8": "        let q = output.quantizationParameters!\n"
            "        let probabilities = output.data.map {{ q.scale * Float(Int(Int8(bitPattern: $0)) - q.zeroPoint) }}",
}
def _delegate_note(name: str | None) -> str:
    """Classifier.swift's comment on the delegate the budgets required, from its backend."""
    backend = backends.find(name) if name else None
    return backend.release_note if backend is not None else ""


def _budget_where(decision: Decision, cpu: str | None) -> str:
    """Where the number of the budgets' backend for the chosen variant came from, as Classifier.swift says it: an
    x86 CPU, measured on the device by its own tool and imported, predicted from counts (not measured), or an
    aarch64 count."""
    b, r = decision.budgets, decision.chosen.verdict.judged or decision.chosen.record
    if r is None:
        said = f"No number of the budgets' backend ({b.backend}) was judged for this variant."
    elif predicted(r):
        said = (f"The milliseconds of the budgets' backend ({r.backend}) were not measured: {predicted_for(r)}. "
                "Measure it on the device (liteship device kit, then liteship device import).")
    elif r.kind.times and not r.kind.here and r.device:
        instead = f", standing in for {b.backend}" if r.backend != b.backend else ""
        said = (f"The milliseconds of the budgets' backend ({r.backend}{instead}) were {measured_on(r)}, by the "
                "device's own benchmark tool, and imported (liteship device import); liteship did not time them.")
    elif r.kind.counts:
        said = (f"The number of the budgets' backend ({r.backend}) is an aarch64 instruction count under QEMU on an "
                f"x86 CPU ({cpu}): the phone's instruction set, not a phone's time.")
    else:
        said = (f"The numbers of the budgets' backend ({r.backend}, {r.threads} thread(s)) were measured on "
                + (f"an x86 CPU ({cpu})" if latency_source(r) == "this x86 CPU" else latency_source(r))
                + " through LiteRT's Python API, not on a phone.")
    said += " MODEL.md says where each of its numbers comes from; time the app on the device it ships to."
    return "\n".join(textwrap.wrap(said, 107, initial_indent="// ", subsequent_indent="// ", break_on_hyphens=False))


def swift(decision: Decision, contract: dict, cpu: str | None) -> str:
    vv = decision.chosen.verdict
    dtype, out_dtype = contract["input"]["dtype"], contract["output"]["dtype"]
    feed_short, feed_code = FEED[dtype]
    return SWIFT.format(variant=vv.variant, model=vv.model, recipe=vv.recipe, threads=decision.budgets.threads,
                        delegate=_delegate_note(decision.budgets.require_delegate),
                        where=_budget_where(decision, cpu),
                        size=int(contract["input"]["shape"][1]), feed_short=feed_short,
                        feed_code=feed_code.replace("{{", "{").replace("}}", "}"),
                        read_code=READ[out_dtype].replace("{{", "{").replace("}}", "}"))


_MARKDOWN_PUNCTUATION = "\\`*_[]|!#~"


def md_text(text: str) -> str:
    """A class name (user text) as Markdown text that shows as itself: Markdown's punctuation backslash-escaped
    (CommonMark lets any ASCII punctuation be), then HTML's characters as entities, so ``<img src=x>`` is shown,
    never rendered, ``|`` never splits a table cell, and a line break cannot start a new block."""
    escaped = "".join(f"\\{ch}" if ch in _MARKDOWN_PUNCTUATION else ch for ch in text)
    return html.escape(escaped, quote=False).replace("\n", " ").replace("\r", " ")


def _per_class(run: BenchRecord) -> list[str]:
    """Per-class top-1 with its Wilson interval, from the confusion matrix's rows."""
    if not run.confusion or not run.per_class_top1:
        return []
    lines = ["| class | test images | top-1 | 95 % interval |", "|---|---:|---:|---|"]
    for name, row, i in zip(run.per_class_top1, run.confusion, range(len(run.confusion))):
        n = sum(row)
        low, high = wilson(row[i], n) if n else (None, None)
        lines.append(f"| {md_text(name)} | {n} | {_pct(row[i] / n if n else None)} | "
                     + (f"{low * 100:.1f}–{high * 100:.1f} % |" if n else "– |"))
    return lines + [""]




def _pct(x: float | None) -> str:
    return "–" if x is None else f"{x * 100:.2f} %"


def _ci(ci) -> str:
    return "" if not ci else f" (95 % interval {ci[0] * 100:.2f}–{ci[1] * 100:.2f} %)"


def _where_said(where: str, recs: list[BenchRecord]) -> str:
    """MODEL.md's closing sentences on where its numbers come from, true of each mix: only this machine's (x86
    times, valgrind and QEMU counts: "No number here was measured on a phone"); a device's lines, measured on it
    by its own tool and imported; predicted lines, measured on no phone but fitted on the device's measurements of
    other variants (listed under each); and this machine's ``where`` for every other number."""
    shown = [r for r in recs if r.kind.times and r.status == "ok" and r.device]
    if not shown:
        here = all(b.kind.here for r in recs for b in backends.measured_by(r))
        return f"Where: {where.rstrip('.')}." + (" No number here was measured on a phone." if here else "")
    said = {}
    for r in shown:
        d = r.device
        said.setdefault(r.backend, (
            f"the {r.backend} line was measured on no phone: it is predicted from the variant's {d.get('profile')} "
            f"instruction count by a calibration fitted on {len(d.get('rests_on') or ()) or 'the'} measurements of "
            f"other variants on {with_article(device_name(r))} (the medians listed under it, each measured on the "
            "device by its own benchmark tool and imported)") if predicted(r) else (
            f"the {r.backend} line was measured on {with_article(device_name(r))} by the device's own benchmark tool "
            "and imported (`liteship device import`), not on this machine"))
    return f"Where: {'; '.join(said.values())}. Every other number: {where.rstrip('.')}."


def _extrapolated(device: dict) -> str:
    """", extrapolated: its count is 1.50x above the counts measured on the device" for a prediction beyond the
    counts its calibration was fitted on (its interval widened), ", extrapolated" where the record gives no ratio;
    "" inside them."""
    far = device.get("extrapolated")
    if not far:
        return ""
    if isinstance(far, dict) and isinstance(far.get("ratio"), (int, float)) and far.get("side"):
        return f", extrapolated: its count is {far['ratio']:.2f}x {far['side']} the counts measured on the device"
    return ", extrapolated"


def predicted_for(record: BenchRecord) -> str:
    """"predicted for an iPhone 13 (A15) from arm64-a15 instructions: 3.10 ms (95 % interval 2.60-3.70 ms) from 4
    measurements on the device (leave-one-out error median 7 %, worst 16 %); not measured": never "measured"; one
    beyond the counts measured says "extrapolated" beside its interval."""
    d, lat = record.device or {}, record.latency_ms
    fit = d.get("fit") or {}
    loo, n = fit.get("loo") or {}, len(d.get("rests_on") or ()) or fit.get("measurements")
    chip = f" ({d['chip']})" if d.get("chip") else ""
    value = "no value" if lat is None else f"{lat.p50:.2f} ms" + (
        f" (95 % interval {lat.ci_low:.2f}-{lat.ci_high:.2f} ms{_extrapolated(d)})"
        if judged_latency(record, "p50")[0] is not None else f" (no interval: not judged{_extrapolated(d)})")
    error = "" if not all(isinstance(loo.get(k), (int, float)) for k in ("median", "worst")) else \
        f" (leave-one-out error median {percent(loo['median'], '.0f')}, worst {percent(loo['worst'], '.0f')})"
    return (f"predicted for {with_article(str(d.get('device') or record.node))}{chip} from {d.get('profile')} "
            f"instructions: {value} from {n} measurements on the device{error}; not measured")


def _rests_on(record: BenchRecord) -> list[str]:
    """The measurements a prediction rests on, each with its leave-one-out error; their medians in ms to 3 decimals,
    as every measured ms in MODEL.md (0.096 ms, not 0.10)."""
    d = record.device or {}
    errors = ((d.get("fit") or {}).get("loo") or {}).get("errors") or {}
    said = [f"`{m.get('variant')}` {m['median_ms']:.3f} ms" + (f" ({percent_change(errors[m.get('variant')], '.0f')})"
            if isinstance(errors.get(m.get("variant")), (int, float)) else "")
            for m in d.get("rests_on") or () if isinstance(m, dict) and isinstance(m.get("median_ms"), (int, float))]
    return [f"  - the measurements it rests on (median on the device, leave-one-out error): {', '.join(said)}"] \
        if said else []


def _speed_lines(recs: list[BenchRecord]) -> list[str]:
    """A line per record of how fast (or how many instructions) and where it was measured."""
    out = []
    for r in recs:
        if not r.kind.counts and r.status == "ok" and r.instructions and r.instructions.counted:
            out.append(f"- {r.backend}, {r.threads} thread(s): {millions(r.instructions.per_invoke)} x86 "
                       "instructions per invoke (valgrind, this CPU's AVX2/FMA3 kernels)")
        if r.kind.times and r.status == "ok" and predicted(r):  # predicted from counts: never said as measured
            out += [f"- {r.backend}: {predicted_for(r)}", *_rests_on(r)]
        elif r.kind.times and r.status == "ok" and r.device:  # imported from a device: its tool's own numbers
            out.append(f"- {r.backend}: {measured_on(r)}")
        elif r.kind.times and r.status == "ok" and r.latency_ms:
            lat = r.latency_ms
            out.append(f"- {r.backend}, {r.threads} thread(s): p50 {lat.p50:.3f} ms [{lat.ci_low:.3f}, "
                       f"{lat.ci_high:.3f}], p90 {lat.p90:.3f} ms ({r.runtime})"
                       + (f": {emulated}" if (emulated := getattr(backends.find(r.backend), "emulated_time", ""))
                          else ""))
        elif r.kind.counts and r.status == "ok" and r.instructions:
            out.append(f"- {r.backend}: {r.instructions.formatted()} "
                       f"instructions per invoke, counted in {r.runtime} ({(r.emulation or {}).get('phones')}); "
                       "the phone's instruction set, not its time")
        elif r.kind.analyses:
            out.append(f"- {r.backend} delegate: " + (f"{r.delegated * 100:.0f} % of ops by its documented op list"
                       if r.status == "ok" and r.delegated is not None else "; ".join(r.notes)[:200]))
    return out


def model_md(decision: Decision, recs: list[BenchRecord], contract: dict, labels: list[str], where: str,
             task: dict | None = None, kernels: dict | None = None, trained: Trained | None = None,
             metadata: dict | None = None) -> str:
    """MODEL.md: what the model expects and returns, how it was trained (``trained``: its float model's card),
    how good and how big it is, where that was measured."""
    o, b = decision.chosen, decision.budgets
    vv = o.verdict
    run = vv.judged or o.record or budget_record(b, recs)  # the record the budgets judged, a re-measure included
    run = scored_record(recs, run) or run  # a device's imported times have no accuracy: the record scored here
    inp, out = contract["input"], contract["output"]
    size = int(inp["shape"][1])
    lines = [f"# {vv.model} · {vv.recipe} (`{vv.variant}`)", "",
             f"Chosen by `liteship pick --prefer {decision.prefer}`: the {BEST[decision.prefer]} of the "
             f"{decision.total} variants judged that passes every budget"
             + (f", {decision.ranked_on}." if decision.ranked_on else "."), "",
             "## Input", "",
             f"- one tensor `{inp['shape']}` {inp['dtype']}: an RGB image, {size}×{size}",
             f"- preprocessing: centre square crop, bilinear resize to {size}×{size}, RGB order; "
             + FEED[inp["dtype"]][0], "",
             "## Output", "",
             f"- one tensor `{out['shape']}` {out['dtype']}: a probability per class, in the order of `labels.txt` "
             f"({len(labels)} classes: {', '.join(md_text(n) for n in labels[:12])}{' …' if len(labels) > 12 else ''})",
             "", *trained_md(trained)]
    if run is not None:
        lines += ["## Accuracy", "",
                  f"On {run.images} held-out test images ({(run.data or {}).get('source', 'the run')}), "
                  f"{run.backend}, {run.threads} thread(s):", "",
                  f"- top-1 {_pct(run.top1)}{_ci(run.top1_ci)}" + (f"; top-5 {_pct(run.top5)}" if run.top5 else ""),
                  f"- change vs the float32 model: {change_pt(o.drop)}"
                  + ("" if o.drop is None or not o.drop_ci else
                     f" (95 % paired interval {points(-o.drop_ci[1])} to {pt(-o.drop_ci[0])})"),
                  f"- top-1 agreement with the float32 model: {_pct(run.agreement)}", "",
                  *_per_class(run)]
    opts = (run.options if run is not None else None) or {}
    lines += ["## Size and speed", "",
              f"- {recs[0].size_bytes:,} bytes ({recs[0].size_bytes / 1024:.1f} KB), gzip {recs[0].gzip_bytes / 1024:.1f} KB"]
    lines += _speed_lines(recs)
    if opts:
        lines.append(f"- how: p50 is the median of {opts.get('rounds')} round medians of {opts.get('runs')} invokes "
                     f"each after {opts.get('warmup')} warm-up invokes, with a 95 % bootstrap interval; "
                     "one image per invoke")
    lines += ["", _where_said(where, recs), "",
              "## Budgets", ""] + [f"- {v.message}" for v in vv.verdicts] + left_out_md(decision) + [
              "", "## Use it in the app", "", "Two ways; every number above was "
              + ("measured (or predicted from measurements made) " if any(predicted(r) for r in recs) else "measured ")
              + "through LiteRT's Interpreter (the first).", "", "1. `Classifier.swift` in this folder: TensorFlowLiteSwift's `Interpreter`, "
              "with the preprocessing above written out; it reads `labels.txt`.", *mediapipe_md(task, metadata, inp["dtype"]),
              *kernels_md(kernels)]
    return "\n".join(lines)


def left_out_md(decision: Decision) -> list[str]:
    """Where the target runtime came from, and the variants it refuses, left out of the choice."""
    said = ["", decision.target_sentence] if decision.target_sentence else []
    if decision.left_out:
        said += ["", f"Left out: {decision.budgets.target_runtime} refuses them, so none was ranked:"] + \
            [f"- `{v}`: {why}" for v, why in decision.left_out]
    return said


def _top1(found: dict) -> str:
    low, high = found.get("top1_ci") or (None, None)
    return f"top-1 {found['top1'] * 100:.2f} %" + ("" if low is None else f" ({low * 100:.1f}–{high * 100:.1f} %)")


def _checked(task: dict) -> list[str]:
    """What the MediaPipe check found: the app's way (centre square as region of interest), the stretched one beside."""
    whole = task.get("stretched") or {}
    fed = task.get("fed", "")
    lines = ["", f"Checked in {task['runtime']} on the {task['images']} test images as the app feeds them ({fed}): "
             f"with the centre square as region of interest, as above, {_top1(task)}, the same top-1 class as "
             f"liteship's Interpreter path (top-1 {task['contract_top1'] * 100:.2f} %) on "
             f"{task['agreement'] * 100:.2f} % of them, largest score difference {task['max_score_diff']:.3g}."]
    if whole:
        lines += ["", f"Without `regionOfInterest` MediaPipe stretches the whole photo to the input size: "
                  f"{_top1(whole)} on the same images ({task.get('non_square', 0)} of them not square)."]
    change = task.get("change_vs_contract") or {}
    if change.get("beyond_interval"):
        low, high = change["interval"]
        lines += ["", f"⚠ MediaPipe's top-1 differs from liteship's by {pt(change['value'])} (95 % paired "
                  f"interval {pt_interval(low, high)} pt): its resize is not the contract's."]
    return lines


def mediapipe_md(task: dict | None, metadata: dict | None = None, dtype: str = "float32") -> list[str]:
    """MODEL.md's MediaPipe Tasks way: the MPPImageClassifier snippet with the centre square as region of
    interest, and what the check found; ``metadata``: what the file carries (:func:`metadata_state`)."""
    if task is None or task.get("loaded") is None:
        found = ["", "Not checked in MediaPipe here: " + ((task or {}).get("error") or "no check") + "."]
    elif not task["loaded"]:
        found = ["", f"MediaPipe's ImageClassifier could not load it: {task.get('error')}."]
    else:
        found = _checked(task)
    return ["2. MediaPipe Tasks (`MediaPipeTasksVision`, CocoaPods): " + metadata_words(metadata, dtype) + " Pass the photo whole with its centre square as the region of interest: "
            "without one, MediaPipe stretches the whole photo to the input size instead of cropping it:", "",
            "```swift", "import MediaPipeTasksVision", "",
            "let options = ImageClassifierOptions()",
            'options.baseOptions.modelAssetPath = Bundle.main.path(forResource: "model", ofType: "tflite")!',
            "options.runningMode = .image  // .video or .liveStream for camera frames",
            "options.maxResults = 3        // the top 3 classes",
            "options.scoreThreshold = 0.0  // raise it to drop unlikely classes",
            "let classifier = try ImageClassifier(options: options)",
            "// The centre square as the input contract crops it, normalized to the pixel buffer (cgImage):",
            "// MediaPipe crops the region first, then applies the photo's orientation",
            "let w = CGFloat(photo.cgImage!.width), h = CGFloat(photo.cgImage!.height)",
            "let side = min(w, h)",
            "let square = CGRect(x: ((w - side) / 2).rounded(.down) / w, y: ((h - side) / 2).rounded(.down) / h,",
            "                    width: side / w, height: side / h)",
            "let result = try classifier.classify(image: try MPImage(uiImage: photo), regionOfInterest: square)",
            "let best = result.classificationResult.classifications[0].categories.first  // categoryName, score",
            "```", *found, ""]


def kernels_md(kernels: dict | None) -> list[str]:
    """MODEL.md's resize section: the top-1 under each kernel an app may resize with, and a warning where they
    differ beyond the paired interval."""
    if not kernels:
        return []
    anti, plain, change = kernels["antialiased"], kernels["plain"], kernels["change"]
    low, high = change["interval"]
    lines = ["## Resize", "", f"The same centre squares of the {kernels['images']} test images, resized two ways "
             "and scored in LiteRT:", "",
             f"- {anti['resize']}: top-1 {anti['top1'] * 100:.2f} %",
             f"- {plain['resize']}: top-1 {plain['top1'] * 100:.2f} % ({pt(change['value'])}, 95 % "
             f"paired interval {pt_interval(low, high)} pt)", ""]
    if kernels.get("warning"):
        lines += [f"⚠ Warning: {kernels['warning']}.", ""]
    else:
        lines += ["The two are inside the paired interval of each other on these images.", ""]
    return lines
