"""The release bundle: RUN_DIR/release/ as the app team takes it: the model, its labels, the numbers and how to use it."""

from __future__ import annotations

import shutil
from dataclasses import asdict
from pathlib import Path

from liteship.contract import InputContract, label_problem, read_labels
from liteship.errors import LiteshipError
from liteship.files import atomic_write_json, is_temp, sha256_file, staged
from liteship.rundir import (FLOAT, LABELS, MANIFEST, MODEL_MD, MODEL_TFLITE, RELEASE, RELEASE_FILES, SWIFT_CODE,
                             VARIANTS, read_manifest, read_variant_record, writing)
from liteship.judge.budgets import predicted
from liteship.judge.decision import Decision
from liteship.judge.metadata_words import metadata_state
from liteship.judge.release_docs import model_md, predicted_for, swift
from liteship.judge.trained import read_trained
from liteship.versions import measured_where, system_info




def _check_ours(final: Path) -> None:
    """release/ is replaced only when liteship wrote it: its manifest says so and it holds nothing else."""
    if not final.exists() and not final.is_symlink():
        return
    fix = f"move {final} (or the files named) elsewhere, then pick again"
    if final.is_symlink() or not final.is_dir():
        raise LiteshipError(f"{final} is not a release folder liteship wrote", "it is a file or a link", fix)
    try:
        manifest = read_manifest(final)
    except (LiteshipError, OSError):  # none, or damaged: not one liteship wrote, as below
        manifest = None
    if not (isinstance(manifest, dict) and manifest.get("app_code") == "Classifier.swift" and "variant" in manifest):
        raise LiteshipError(f"{final} is not a release folder liteship wrote", "it has no liteship manifest.json, "
                            "and pick replaces the folder whole", fix)
    foreign = sorted(p.name for p in final.iterdir() if p.name not in RELEASE_FILES and not is_temp(p.name))
    if foreign:
        raise LiteshipError(f"{final} holds files liteship did not write: {', '.join(foreign[:6])}",
                            "pick replaces release/ whole, and would delete them", fix)


def _check_labels(text: str, contract: dict, path: Path) -> None:
    """The labels file, read as the app reads it, has one name a model output and no name that splits."""
    names = read_labels(text)
    shape = (contract.get("output") or {}).get("shape")
    outputs = shape[-1] if shape else None
    bad = [(n, label_problem(n)) for n in names if label_problem(n)]
    if outputs != len(names) or bad:
        why = (f"the app reads {len(names)} labels from it, and the model has {outputs} outputs"
               if outputs != len(names) else f"{bad[0][0]!r}: {bad[0][1]}")
        raise LiteshipError(f"{path} does not match the model", why + "; the app would show wrong class names",
                            "train again from class folders whose names are plain text, one per class")


def in_mediapipe(run_dir: Path, model_path: Path, contract: dict, labels: str,
                 model: str | None = None) -> tuple[dict, dict | None]:
    """(task_api, resize_kernels): the release in MediaPipe Tasks' ImageClassifier on the test split's photos with
    the centre square as region of interest, as the app passes them, the stretched photo's top-1 beside it, and
    its metadata as MediaPipe's displayer reads it; and the top-1 under the resize kernels apps use
    (:mod:`liteship.judge.app_inputs`). ``model``: the float model whose own test split is used."""
    from liteship import task_api
    from liteship.judge.app_inputs import app_inputs, photos_gone

    gone = photos_gone(run_dir, model)
    if gone is not None:
        return {"runtime": "mediapipe", "loaded": None, "error": gone}, None
    size = int(contract["input"]["shape"][1])
    if not task_api.installed():
        kernels, _ = app_inputs(run_dir, model_path, size, model)
        return {"runtime": "mediapipe", "loaded": None, "error": f"the MediaPipe environment is not installed "
                f"(`{task_api.INSTALL}`)"}, kernels
    with task_api.Worker() as worker:
        shown = task_api.read_metadata(worker, model_path)
        kernels, found = app_inputs(run_dir, model_path, size, model, worker)
    found = {"runtime": f"mediapipe {task_api.VERSION} ImageClassifier (Python, CPU)", "version": task_api.VERSION,
             "metadata_problems": task_api.metadata_problems(shown, contract["input"]["dtype"],
                                                             int(contract["output"]["shape"][-1])), **found}
    general = (shown.get("metadata") or {})
    found["metadata"] = {"name": general.get("name"), "version": general.get("version"),
                         "labels_file_matches": read_labels(shown.get("labels") or "") == read_labels(labels)} \
        if shown.get("ok") else {"error": shown.get("error")}
    return found, kernels


def _predicted(recs) -> dict:
    """The manifest's predictions, apart from what was measured: each with its interval, the calibration and the
    measurements it rests on (none: no key)."""
    found = {f"{r.backend}@{r.threads}": {
        "words": predicted_for(r), "p50_ms": r.latency_ms.p50 if r.latency_ms else None,
        "interval_ms": [r.latency_ms.ci_low, r.latency_ms.ci_high] if r.latency_ms else None, "level": 0.95,
        "profile": r.device.get("profile"), "fit": r.device.get("fit"), "rests_on": r.device.get("rests_on"),
        "notes": list(r.notes)} for r in recs if predicted(r)}
    return {"predicted": found} if found else {}


def _runtime(compat: dict, decision: Decision) -> dict:
    """The manifest's runtime: the file's needs against the target judged, where that target came from (the budgets,
    or the runtime the run's bench recorded) and the variants it refuses, left out of the choice."""
    return {**compat, "target_from": None if decision.budgets.target_runtime is None else
            (decision.target_said or "the budgets"),
            "left_out": [{"variant": v, "why": why} for v, why in decision.left_out]}


def write_release(run_dir: Path, decision: Decision, records) -> Path:
    """release/: model.tflite, labels.txt, manifest.json, MODEL.md and Classifier.swift, made whole or not at all;
    only in a run liteship made, held while it is written (re-entered inside pick's session)."""
    with writing(run_dir, "pick"):
        return _write_release(Path(run_dir), decision, records)


def _write_release(run_dir: Path, decision: Decision, records) -> Path:
    from liteship.tflite_file import read_model

    from liteship.bench import check_runtime
    from liteship.bench import check_contract

    chosen, budgets, prefer = decision.chosen.verdict, decision.budgets, decision.prefer
    judged = chosen.judged  # the budget record as judged (re-measured, when gate re-measured it)
    recs = [judged if judged is not None and r.key == judged.key else r for r in records if r.variant == chosen.variant]
    variant_json = read_variant_record(run_dir / VARIANTS / f"{chosen.variant}.json")
    model_path = run_dir / variant_json["file"]
    labels_path = run_dir / FLOAT / variant_json["model"] / LABELS
    labels = labels_path.read_text(encoding="utf-8")
    model = read_model(model_path.read_bytes())
    contract = check_contract(model, len(read_labels(labels)))
    _check_labels(labels, contract, labels_path)
    size = int(contract["input"]["shape"][1])
    final = run_dir / RELEASE
    _check_ours(final)
    with staged(final) as staging:
        shutil.copyfile(model_path, staging / MODEL_TFLITE)
        (staging / LABELS).write_text(labels, encoding="utf-8")
        manifest = {
            "model": {"file": MODEL_TFLITE, "sha256": sha256_file(staging / MODEL_TFLITE),
                      "size_bytes": recs[0].size_bytes, "gzip_bytes": recs[0].gzip_bytes},
            "labels": {"file": LABELS, "classes": read_labels(labels)},
            "variant": chosen.variant, "recipe": variant_json["recipe"], "config": variant_json["config"],
            "float_model": variant_json["model"], "arch": variant_json.get("arch"),
            "alpha": variant_json.get("alpha"), "input_size": size, "chosen_by": prefer,
            "measured": {f"{r.backend}" + (f"@{r.threads}" if r.threads else ""): {
                "runtime": r.runtime, "status": r.status, "top1": r.top1, "top5": r.top5, "agreement": r.agreement,
                "latency_ms": asdict(r.latency_ms) if r.latency_ms else None, "delegated": r.delegated,
                "notes": list(r.notes)} for r in recs if not predicted(r)},
            **_predicted(recs),
            "budgets": {"limits": budgets.to_dict(),
                        "verdicts": [{"check": v.check, "measured": v.measured, "limit": v.limit, "margin": v.margin,
                                      "passed": v.passed, "remeasured": v.remeasured, "message": v.message}
                                     for v in chosen.verdicts]},
            "input_contract": {**InputContract(size).to_dict(), "tensor": contract["input"], "output": contract["output"]},
            "runtime": _runtime(check_runtime(model, budgets.target_runtime), decision),
            "metadata": metadata_state(variant_json),
            "versions": {"liteship": system_info()["versions"].get("liteship"),
                         "tensorflow": variant_json.get("versions", {}).get("tensorflow"),
                         "tfmot": variant_json.get("versions", {}).get("tensorflow-model-optimization"),
                         "ai-edge-litert": system_info()["versions"].get("ai-edge-litert")},
            "measured_on": {k: v for k, v in recs[0].system.items() if k != "versions"},
            "where": measured_where(recs[0].system, next((r.runtime for r in recs if r.backend == budgets.backend
                                                          and r.kind.here), None)),  # a device's: MODEL.md says it
            "app_code": SWIFT_CODE,
        }
        manifest["task_api"], manifest["resize_kernels"] = in_mediapipe(run_dir, staging / MODEL_TFLITE, contract,
                                                                        labels, variant_json["model"])
        atomic_write_json(staging / MANIFEST, manifest)
        (staging / SWIFT_CODE).write_text(swift(decision, contract, recs[0].system.get("cpu")), encoding="utf-8")
        (trained,) = read_trained(run_dir, [variant_json["model"]])  # its float model's card: how it was trained
        (staging / MODEL_MD).write_text(model_md(decision, recs, contract, read_labels(labels), manifest["where"],
                                                   manifest["task_api"], manifest["resize_kernels"], trained,
                                                   manifest["metadata"]),
                                          encoding="utf-8")
    return final
