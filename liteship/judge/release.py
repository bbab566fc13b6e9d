"""The release bundle: RUN_DIR/release/ with model.tflite, labels.txt and manifest.json, as the app loads it."""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path

from liteship.contract import InputContract
from liteship.files import atomic_write_json, publish_dir, sha256_file
from liteship.judge.budgets import Budgets
from liteship.judge.gate import VariantVerdict
from liteship.versions import measured_where, system_info

SWIFT_PREPROCESSING = """\
// TensorFlowLiteSwift, set up as liteship measured this model: {threads} thread(s), XNNPACK on
// (Interpreter.Options leaves XNNPACK off unless asked). The numbers in manifest.json were measured on
// an x86 CPU ({cpu}), not on a phone: time the app on the device it ships to.
var options = Interpreter.Options()
options.threadCount = {threads}
options.isXNNPackEnabled = true
let interpreter = try Interpreter(modelPath: modelPath, options: options)
try interpreter.allocateTensors()
// Feed a camera frame the way the model was measured:
// 1. Centre-crop the frame to a square; 2. resize it to {size}x{size} (bilinear); 3. drop alpha (RGB order).
// 4. {feed}
try interpreter.copy(rgbData, toInputAt: 0)   // rgbData: {size}*{size}*3 {dtype} values, row-major
try interpreter.invoke()
let output = try interpreter.output(at: 0)     // {out_dtype} probabilities, one per line of labels.txt
"""


def write_release(run_dir: Path, chosen: VariantVerdict, records, budgets: Budgets, prefer: str) -> Path:
    from liteship.tflite_file import read_model

    from liteship.bench.compat import check_runtime
    from liteship.bench.contract import check_contract

    recs = [r for r in records if r.variant == chosen.variant]
    variant_json = json.loads((run_dir / "variants" / f"{chosen.variant}.json").read_text())
    model_path = run_dir / variant_json["file"]
    labels = (run_dir / "float" / variant_json["model"] / "labels.txt").read_text(encoding="utf-8")
    model = read_model(model_path.read_bytes())
    contract = check_contract(model, len(labels.splitlines()))
    size = int(contract["input"]["shape"][1])
    dtype = contract["input"]["dtype"]
    feed = ("copy the raw RGB bytes (0...255); the input is uint8 with scale 1/255, zero point 0."
            if dtype == "uint8" else "divide each byte by 255.0 and copy Float32 values in [0, 1]."
            if dtype == "float32" else "subtract 128 from each byte (int8, scale 1/255, zero point -128).")
    final = run_dir / "release"
    staging = Path(tempfile.mkdtemp(prefix=".release.", dir=run_dir))
    try:
        shutil.copyfile(model_path, staging / "model.tflite")
        (staging / "labels.txt").write_text(labels, encoding="utf-8")
        manifest = {
            "model": {"file": "model.tflite", "sha256": sha256_file(staging / "model.tflite"),
                      "size_bytes": recs[0].size_bytes, "gzip_bytes": recs[0].gzip_bytes},
            "labels": {"file": "labels.txt", "classes": labels.splitlines()},
            "variant": chosen.variant, "recipe": variant_json["recipe"], "config": variant_json["config"],
            "float_model": variant_json["model"], "arch": variant_json.get("arch"),
            "alpha": variant_json.get("alpha"), "input_size": size, "chosen_by": prefer,
            "measured": {f"{r.backend}" + (f"@{r.threads}" if r.threads else ""): {
                "runtime": r.runtime, "status": r.status, "top1": r.top1, "top5": r.top5, "agreement": r.agreement,
                "latency_ms": asdict(r.latency_ms) if r.latency_ms else None, "delegated": r.delegated,
                "notes": list(r.notes)} for r in recs},
            "budgets": {"limits": budgets.to_dict(),
                        "verdicts": [{"check": v.check, "measured": v.measured, "limit": v.limit, "margin": v.margin,
                                      "passed": v.passed, "remeasured": v.remeasured, "message": v.message}
                                     for v in chosen.verdicts]},
            "input_contract": {**InputContract(size).to_dict(), "tensor": contract["input"], "output": contract["output"]},
            "runtime": check_runtime(model, budgets.target_runtime),
            "versions": {"liteship": system_info()["versions"].get("liteship"),
                         "tensorflow": variant_json.get("versions", {}).get("tensorflow"),
                         "tfmot": variant_json.get("versions", {}).get("tensorflow-model-optimization"),
                         "ai-edge-litert": system_info()["versions"].get("ai-edge-litert")},
            "measured_on": {k: v for k, v in recs[0].system.items() if k != "versions"},
            "where": measured_where(recs[0].system, next((r.runtime for r in recs if r.backend == budgets.backend),
                                                         None)),
            "swift_preprocessing": SWIFT_PREPROCESSING.format(size=size, feed=feed, threads=budgets.threads,
                                                              cpu=recs[0].system.get("cpu"),
                                                              dtype={"uint8": "UInt8", "float32": "Float32"}.get(dtype, dtype),
                                                              out_dtype=contract["output"]["dtype"]),
        }
        atomic_write_json(staging / "manifest.json", manifest)
        publish_dir(staging, final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return final
