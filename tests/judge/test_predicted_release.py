"""pick --prefer latency on a prediction backend, end to end on a copy of the swept digits run: the release's MODEL.md
and manifest label every predicted number as predicted, with its interval and what it rests on, never as measured.

Written by hand into the copy's results (as bench would write them): float32 measured on the iPhone 13 at 3.90 ms;
int8 predicted at 3.00 ms (95 % interval 2.20-4.10 ms); prune_int8 predicted at 3.10 ms (2.60-3.70 ms). By the
medians int8 would ship; by what each is judged on (the upper ends, float32's median) prune_int8 (3.70) comes first,
then float32 (3.90), then int8 (4.10).
"""

import json
import re
import shutil

import pytest

from liteship.app.cli import main
from tests.judge.test_predicted_budgets import measured, predicted
from tests.judge.test_predicted_gate import _add


@pytest.fixture
def picked(swept, tmp_path, capsys):
    out = tmp_path / "run"
    shutil.copytree(swept[0], out, ignore=shutil.ignore_patterns("release", ".liteship.lock"))
    ids = {json.loads(line)["recipe"]: json.loads(line)["variant"]
           for line in (out / "results.jsonl").read_text().splitlines()}
    _add(out, measured(ids["float32"], 3.9), predicted(ids["int8"], 3.0, 2.2, 4.1, recipe="int8"),
         predicted(ids["prune_int8"], 3.1, 2.6, 3.7, recipe="prune_int8"))
    (tmp_path / "b.toml").write_text('[budgets]\nbackend = "predicted:iphone-13"\nmax_latency_ms = 4.5\n')
    capsys.readouterr()
    code = main(["pick", str(out), "--budgets", str(tmp_path / "b.toml"), "--prefer", "latency"])
    return out, ids, code, capsys.readouterr().out


def test_pick_ranks_on_the_upper_ends_and_model_md_says_predicted_with_its_interval(picked):
    out, ids, code, printed = picked
    assert code == 0 and f"picked {ids['prune_int8']}" in printed
    text = (out / "release" / "MODEL.md").read_text()
    (out.parent.parent / "MODEL.md").write_text(text)  # kept beside the test's folder, to read
    (chosen,) = [line for line in text.splitlines() if line.startswith("Chosen by")]
    assert "the fastest of the 3 variants judged that passes every budget, ranked on the upper end of each " \
           "prediction's 95 % interval on predicted:iphone-13" in chosen
    (line,) = [line for line in text.splitlines() if line.startswith("- predicted:iphone-13:")]
    words = re.fullmatch(r"- predicted:iphone-13: predicted for an iPhone 13 \(A15\) from (\S+) instructions: "
                         r"([\d.]+) ms \(95 % interval ([\d.]+)-([\d.]+) ms\) from (\d+) measurements on the device "
                         r"\(leave-one-out error median (\d+) %, worst (\d+) %\); not measured", line)
    assert words is not None, line
    # the hand-made record's numbers: arm64-a15, 3.10 (2.60-3.70), 4 measurements, median 6 %, worst 16 %
    assert words.groups() == ("arm64-a15", "3.10", "2.60", "3.70", "4", "6", "16")
    rests = text.splitlines()[text.splitlines().index(line) + 1]
    assert rests == ("  - the measurements it rests on (median on the device, leave-one-out error): `m1` 3.100 ms "
                     "(+5 %), `m2` 1.850 ms (-16 %), `m3` 6.000 ms (+7 %), `m4` 2.200 ms (-2 %)")
    speed = text[text.index("## Size and speed"):text.index("## Budgets")]
    assert not [s for s in speed.splitlines() if s.startswith("- ") and "measured on" in s]  # float32's is not shown
    # the rests-on medians were measured on a phone: no sentence says none was; the prediction is said as one
    assert "No number here was measured on a phone" not in text
    (where,) = [s for s in speed.splitlines() if s.startswith("Where:")]
    assert where.startswith(
        "Where: the predicted:iphone-13 line was measured on no phone: it is predicted from the variant's arm64-a15 "
        "instruction count by a calibration fitted on 4 measurements of other variants on an iPhone 13 (the medians "
        "listed under it, each measured on the device by its own benchmark tool and imported). Every other number: "
        "Measured on this machine's CPU")
    budgets = text[text.index("## Budgets"):text.index("## Use it in the app")]
    assert "[predicted 3.100 ms, 95 % interval 2.600-3.700 ms, upper end judged]" in budgets
    assert "3.700 ms <= 4.500 ms (margin +0.800 ms)" in budgets
    assert "every number above was measured (or predicted from measurements made) through" in text


RANKED_ON = ("ranked on the upper end of each prediction's 95 % interval on predicted:iphone-13 (predicted from "
             "instruction counts, not measured), as its budget is judged; a variant measured on the device, on its "
             "measured median (device:iphone-13)")


def test_pick_s_terminal_lines_and_the_report_say_what_latency_ranked_on(picked):
    out, ids, _, printed = picked
    assert f"    --prefer latency {RANKED_ON}" in printed.splitlines()
    report = (out / "report.md").read_text()
    decision = report.split("### Decision")[1].split("\n\n")[1]
    assert decision.startswith(f"**Ship `{ids['prune_int8']}`") and decision.endswith(f" It {RANKED_ON}.")


def test_classifier_swift_says_the_budget_s_number_was_predicted_not_measured(picked):
    out, _, _, _ = picked
    swift = (out / "release" / "Classifier.swift").read_text().splitlines()
    comment = " ".join(line[3:] for line in swift[3:swift.index("import CoreGraphics")])
    assert comment == (
        "The milliseconds of the budgets' backend (predicted:iphone-13) were not measured: predicted for an iPhone 13 "
        "(A15) from arm64-a15 instructions: 3.10 ms (95 % interval 2.60-3.70 ms) from 4 measurements on the device "
        "(leave-one-out error median 6 %, worst 16 %); not measured. Measure it on the device (liteship device kit, "
        "then liteship device import). MODEL.md says where each of its numbers comes from; time the app on the "
        "device it ships to.")


def test_the_manifest_keeps_predictions_apart_from_measurements(picked):
    out, ids, _, _ = picked
    manifest = json.loads((out / "release" / "manifest.json").read_text())
    assert "predicted:iphone-13@1" not in manifest["measured"] and "xnnpack@1" in manifest["measured"]
    p = manifest["predicted"]["predicted:iphone-13@1"]
    assert (p["p50_ms"], p["interval_ms"], p["level"], p["profile"]) == (3.1, [2.6, 3.7], 0.95, "arm64-a15")
    assert [m["variant"] for m in p["rests_on"]] == ["m1", "m2", "m3", "m4"] and p["words"].endswith("not measured")
    (lat,) = [v for v in manifest["budgets"]["verdicts"] if v["check"].startswith("max_latency_ms")]
    assert (lat["measured"], lat["limit"], lat["passed"], lat["remeasured"]) == (3.7, 4.5, True, False)


def test_explain_and_compare_take_the_run_with_predictions(picked, capsys):
    out, ids, _, _ = picked
    assert main(["explain", str(out), ids["prune_int8"], "--vs", ids["int8"]]) == 0
    assert "Traceback" not in capsys.readouterr().err
    base = out.parent / "base"
    shutil.copytree(out, base, ignore=shutil.ignore_patterns("release", ".liteship.lock"))
    lines = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    for r in lines:  # the calibration moved: every prediction 50 % slower, nothing else changed
        if r["backend"] == "predicted:iphone-13":
            r["latency_ms"] = {k: (v * 1.5 if isinstance(v, float) else v) for k, v in r["latency_ms"].items()}
    (out / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    assert main(["compare", str(base), str(out)]) == 0  # a prediction is never judged as a time
    assert "not judged: predicted from counts, not measured" in capsys.readouterr().out
