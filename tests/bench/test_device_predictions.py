"""Predicted device milliseconds on run directories made by hand, against numbers recomputed here by hand.

The run holds six current variants with aarch64 counts on arm64-a15 written by hand, and device records written by
hand: the scale, its leave-one-out errors and the prediction interval are recomputed in this file with numpy and
scipy.stats.t from the same counts and times, never read back from liteship.
"""

import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import t as student_t

from liteship.bench import read_results
from liteship.bench.device_predict import Point, fit
from liteship.bench.device_predictions import predictions, refresh
from liteship.bench.record import Instructions

# variant -> G instructions per invoke on arm64-a15 (by hand)
COUNTS = {"v1aaaaaaaaaa": 0.30, "v2bbbbbbbbbb": 0.12, "v3cccccccccc": 0.05, "v4dddddddddd": 0.60,
          "v5eeeeeeeeee": 0.20, "v6ffffffffff": 0.08}
IPHONE = {"v1aaaaaaaaaa": 27.1, "v2bbbbbbbbbb": 10.2, "v3cccccccccc": 4.55}  # ms measured on the phone (by hand)
RECIPES = ["float32", "int8", "dynamic", "float16", "prune_int8", "qat_int8"]
NO_SME2 = (lambda name: name != "arm64-a18")  # a registry without the SME2 profile
WITH_SME2 = (lambda name: True)


def _variant(run: Path, vid: str, recipe: str) -> str:
    data = f"TFL3 stand-in {recipe} {vid}".encode()
    (run / "variants" / f"{vid}.tflite").write_bytes(data)
    sha = hashlib.sha256(data).hexdigest()
    (run / "variants" / f"{vid}.json").write_text(json.dumps({
        "id": vid, "model": "mnv2", "recipe": recipe, "file": f"variants/{vid}.tflite", "status": "ok",
        "sha256": sha, "size_bytes": len(data), "gzip_bytes": len(data)}))
    return sha


def _base(vid: str, sha: str, backend: str, kind: str, threads) -> dict:
    return {"variant": vid, "model": "mnv2", "recipe": RECIPES[list(COUNTS).index(vid)], "arch": None,
            "alpha": None, "size": 32, "backend": backend, "threads": threads, "runtime": "", "kind": kind,
            "status": "ok", "size_bytes": 40, "gzip_bytes": 40, "params": None, "sparsity": None, "sha256": sha}


def count_line(vid: str, sha: str, g: float, backend: str = "arm64-a15") -> dict:
    return {**_base(vid, sha, backend, "count", 1),
            "instructions": {"per_invoke": int(g * 1e9), "isa": "aarch64", "threads": 1}}


def device_line(vid: str, sha: str, ms: float, device: str = "iPhone 13", chip: str | None = "A15",
                accelerator: str = "cpu", threads: int = 1) -> dict:
    slug = "-".join(device.casefold().split()) + ("" if accelerator == "cpu" else f"-{accelerator}")
    return {**_base(vid, sha, f"device:{slug}", "device", threads),
            "latency_ms": {"init": None, "first": None, "p50": ms, "p90": None, "p99": None, "mean": None,
                           "std": None, "cv": None, "min": None, "runs": 50, "rounds": None, "ci_low": None,
                           "ci_high": None},
            "node": device, "device": {"device": device, "chip": chip, "chip_from": "--chip" if chip else None,
                                       "accelerator": accelerator, "threads": threads, "runtime_version": "2.2.0",
                                       "os": "iOS 17.4", "source": f"/p/{vid}.txt", "source_sha256": "ab" * 32}}


def make_run(tmp_path: Path, lines=lambda sha: [], counts: dict = COUNTS) -> tuple[Path, dict]:
    run = tmp_path / "run"
    (run / "variants").mkdir(parents=True)
    (run / ".liteship-run").write_text("{}\n")
    shas = {vid: _variant(run, vid, recipe) for vid, recipe in zip(COUNTS, RECIPES)}
    (run / "current_variants.json").write_text(json.dumps({"mnv2": dict(zip(RECIPES, COUNTS))}))
    made = [count_line(v, shas[v], g) for v, g in counts.items()] + lines(shas)
    (run / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in made))
    return run, shas


def iphone(shas, measured=IPHONE, **kw):
    return [device_line(v, shas[v], ms, **kw) for v, ms in measured.items()]


def by_hand_scale(measured: dict) -> tuple[float, dict, float]:
    """The scale of least squares on relative error, each point's leave-one-out error and the interval factor,
    recomputed here with numpy and scipy.stats.t."""
    ids = list(measured)
    g = np.array([COUNTS[v] for v in ids])
    ms = np.array([measured[v] for v in ids])
    a = float(np.linalg.lstsq((g / ms)[:, None], np.ones(len(ids)), rcond=None)[0][0])
    loo = {}
    for i, v in enumerate(ids):
        keep = np.arange(len(ids)) != i
        r = g[keep] / ms[keep]
        a_i = r.sum() / (r * r).sum()  # the one-column normal equation
        loo[v] = (a_i * g[i] - ms[i]) / ms[i]
    logs = np.array([math.log(1 / (1 + loo[v])) for v in ids])
    n = len(ids)
    factor = math.exp(student_t.ppf(0.975, n - 1) * math.sqrt((logs ** 2).sum() / (n - 1)) * math.sqrt(1 + 1 / n))
    return a, loo, factor


def test_the_fit_of_three_measurements_is_the_least_squares_scale_with_its_leave_one_out_errors():
    cal = fit([Point(v, ms, Instructions(int(COUNTS[v] * 1e9), "aarch64")) for v, ms in IPHONE.items()])
    a, loo, factor = by_hand_scale(IPHONE)
    assert cal.form == "scale" and cal.n == 3
    assert cal.terms["ms_per_G"] == pytest.approx(a, rel=1e-9)
    assert cal.loo_errors == pytest.approx(loo, rel=1e-9)
    assert cal.loo_worst == pytest.approx(max(abs(e) for e in loo.values()), rel=1e-9)
    assert cal.factor == pytest.approx(factor, rel=1e-9)
    ms, low, high = cal.predict(Instructions(int(0.2e9), "aarch64"))
    assert (ms, low, high) == pytest.approx((a * 0.2, a * 0.2 / factor, a * 0.2 * factor), rel=1e-9)


def test_a_run_gets_a_predicted_record_for_each_counted_variant_not_measured(tmp_path):
    run, shas = make_run(tmp_path, lambda shas: iphone(shas))
    (o,) = refresh(run, registered=NO_SME2)
    a, loo, factor = by_hand_scale(IPHONE)
    assert o.predicted and o.profile == "arm64-a15" and o.chip.chip == "A15" and o.target == "predicted:iphone-13"
    predicted = {r.variant: r for r in read_results(run) if r.backend == "predicted:iphone-13"}
    assert sorted(predicted) == ["v4dddddddddd", "v5eeeeeeeeee", "v6ffffffffff"]  # none for the 3 measured
    r = predicted["v5eeeeeeeeee"]
    lat = r.latency_ms
    assert (lat.p50, lat.ci_low, lat.ci_high) == pytest.approx((a * 0.2, a * 0.2 / factor, a * 0.2 * factor))
    assert (lat.p90, lat.p99, lat.mean, lat.min, lat.runs) == (None, None, None, None, None)
    assert r.kind.times and not r.kind.here and r.status == "ok" and r.threads == 1 and r.instructions is None
    assert r.sha256 == shas["v5eeeeeeeeee"] and r.recipe == "prune_int8" and r.node == "iPhone 13"
    assert r.runtime == "predicted for iPhone 13 from arm64-a15 instructions (LiteRT 2.2.0 on the device)"
    d = r.device
    assert d["predicted"] and d["profile"] == "arm64-a15" and d["instructions"] == 200_000_000
    assert (d["chip"], d["chip_from"], d["accelerator"], d["os"]) == ("A15", "--chip", "cpu", "iOS 17.4")
    assert d["statistics"] == {"p50": "predicted median", "p90": None, "p99": None}
    assert [p["variant"] for p in d["rests_on"]] == list(IPHONE) and d["rests_on"][0]["median_ms"] == 27.1
    assert d["fit"]["loo"]["errors"] == pytest.approx(loo) and d["fit"]["measurements"] == 3
    worst = max(abs(e) for e in loo.values())
    assert r.notes[0].startswith("predicted from arm64-a15 instructions, not measured: ms = ")
    assert f"worst {worst * 100:.0f} %" in r.notes[0] and "of 3 measurements" in r.notes[0]
    assert o.said().startswith("predicted 3 variants on predicted:iphone-13 from arm64-a15 counts: ms = ")


def test_the_fit_form_of_four_measurements_is_chosen_by_leave_one_out_error(tmp_path):
    four = {**IPHONE, "v4dddddddddd": 49.0}
    run, _ = make_run(tmp_path, lambda shas: iphone(shas, four))
    (o,) = predictions(run, registered=NO_SME2)
    ids = list(four)
    g, ms = np.array([COUNTS[v] for v in ids]), np.array([four[v] for v in ids])

    def loo_mean(columns):
        errs = []
        for i in range(len(ids)):
            keep = np.arange(len(ids)) != i
            x = np.column_stack(columns)
            w = np.linalg.lstsq(x[keep] / ms[keep, None], np.ones(keep.sum()), rcond=None)[0]
            errs.append(abs((x[i] @ w - ms[i]) / ms[i]))
        return sum(errs) / len(errs)

    scale, intercept = loo_mean([g]), loo_mean([g, np.ones(len(ids))])
    assert o.calibration.considered == pytest.approx({"scale": scale, "scale+intercept": intercept})
    assert o.calibration.form == ("scale+intercept" if intercept < 0.9 * scale else "scale")
    assert sorted(r.variant for r in o.records) == ["v5eeeeeeeeee", "v6ffffffffff"]


def test_an_sme2_chip_is_never_predicted_from_arm64_a15_counts(tmp_path):
    run, _ = make_run(tmp_path, lambda shas: iphone(shas, device="iPhone 16 Pro", chip="A18 Pro"))
    (o,) = predictions(run, registered=NO_SME2)
    assert not o.predicted and o.profile is None and not o.records
    assert "A18 Pro has SME2" in o.why and "arm64-a15" in o.why and "106 % (worst)" in o.why
    assert "measure each variant on the device" in o.fix
    # with arm64-a18 in the registry it is the profile: here no variant is counted on it, so bench it
    (o,) = predictions(run, registered=WITH_SME2)
    assert o.profile == "arm64-a18" and not o.predicted and "no arm64-a18 count" in o.why
    assert o.fix == f"liteship bench {run} --backends arm64-a18"


def test_gpu_measurements_fewer_than_three_unknown_chips_and_mixed_threads_are_not_predicted(tmp_path):
    def lines(shas):
        return (iphone(shas, accelerator="gpu") + iphone(shas, dict(list(IPHONE.items())[:2]), device="Pixel 9 Pro",
                                                          chip=None)
                + iphone(shas, device="Nokia 3310", chip=None)
                + iphone(shas, device="Galaxy S25 Ultra", chip=None)
                + iphone(shas, {"v4dddddddddd": 50.0, "v5eeeeeeeeee": 17.0}, device="Galaxy S25 Ultra", chip=None,
                         threads=4))
    run, _ = make_run(tmp_path, lines)
    said = {(o.backend, o.threads): o for o in predictions(run, registered=NO_SME2)}
    gpu = said[("device:iphone-13-gpu", 1)]
    assert not gpu.predicted and "GPU" in gpu.why and "not a function of CPU instruction counts" in gpu.why
    pixel = said[("device:pixel-9-pro", 1)]  # Tensor G4, from the device's name
    assert pixel.chip.chip == "Tensor G4" and pixel.chip.chip_from == "device name" and not pixel.predicted
    assert "2 variants measured at 1 thread" in pixel.why and pixel.fix.startswith("measure 1 more variant")
    nokia = said[("device:nokia-3310", 1)]
    assert not nokia.predicted and nokia.why == "liteship does not know the chip of Nokia 3310"
    assert "--chip CHIP" in nokia.fix and "Snapdragon 8 Elite" in nokia.fix and "neon-i8mm" in nokia.fix
    galaxy, at4 = said[("device:galaxy-s25-ultra", 1)], said[("device:galaxy-s25-ultra", 4)]
    # v4 and v5 are measured on the Galaxy at 4 threads only: a measurement replaces the prediction at its own
    # thread count, so at 1 thread they are predicted like v6
    assert galaxy.predicted and [r.variant for r in galaxy.records] == ["v4dddddddddd", "v5eeeeeeeeee",
                                                                        "v6ffffffffff"]
    assert not at4.predicted and "2 variants measured at 4 threads" in at4.why
    # an unknown device told its chip is predicted
    (told,) = predictions(run, device="Nokia 3310", chip="neon-i8mm", registered=NO_SME2)
    assert told.predicted and told.profile == "arm64-a15" and told.chip.chip_from == "--chip"


def test_variants_not_counted_on_the_profile_say_to_bench_it(tmp_path):
    run, _ = make_run(tmp_path, lambda shas: iphone(shas), counts={"v1aaaaaaaaaa": 0.30, "v5eeeeeeeeee": 0.2})
    (o,) = predictions(run, registered=NO_SME2)
    assert not o.predicted and "2 of the 3 variants measured have no arm64-a15 count" in o.why
    assert o.fix == f"liteship bench {run} --backends arm64-a15"


def test_a_refresh_replaces_the_predictions_whole(tmp_path):
    run, shas = make_run(tmp_path, lambda shas: iphone(shas))
    refresh(run, registered=NO_SME2)
    lines = [json.loads(x) for x in (run / "results.jsonl").read_text().splitlines()]
    lines.append(device_line("v5eeeeeeeeee", shas["v5eeeeeeeeee"], 18.0))  # v5 now measured on the phone
    (run / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    refresh(run, registered=NO_SME2)
    records = read_results(run)
    predicted = sorted(r.variant for r in records if r.backend == "predicted:iphone-13")
    assert predicted == ["v4dddddddddd", "v6ffffffffff"]  # v5 lost its predicted record
    a, _, _ = by_hand_scale({**IPHONE, "v5eeeeeeeeee": 18.0})
    v6 = next(r for r in records if r.backend == "predicted:iphone-13" and r.variant == "v6ffffffffff")
    assert v6.device["fit"]["measurements"] == 4 and len(v6.device["rests_on"]) == 4
    if v6.device["fit"]["form"] == "scale":
        assert v6.latency_ms.p50 == pytest.approx(a * 0.08)
    assert len([r for r in records if r.backend == "arm64-a15"]) == 6  # the counts are kept
