"""A run's state when it is judged (issue 32): a run a liteship command is still writing, a run whose current
variants have no results yet, and a baseline that is a copy of the run. Each is a real `liteship` process.

A run being written is held by the one writer's lock (``liteship.rundir.exclusive``): here a second process takes
it exactly as a sweep does, so the PID the message must name is known. Gate and compare must say who writes the
run and exit 2 (never "gate FAILED", never "passed" on a half-made run); once the writer is gone (killed, its lock
file left behind) the same command judges the run again.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.robustness.hostile import first_line, held_by_a_sweep, run, snapshot

def remeasured(run_dir: Path, copy: Path) -> Path:
    """A copy of ``run_dir`` whose first timed record was measured again (its timings 1 % slower), the others kept:
    what a re-run that benched one variant again and kept the rest writes."""
    shutil.copytree(run_dir, copy, symlinks=True, ignore=shutil.ignore_patterns(".liteship.lock"))
    records = [json.loads(line) for line in (copy / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    timed = next(r for r in records if r.get("latency_ms"))
    timed["latency_ms"] = {k: round(v * 1.01, 4) if isinstance(v, float) else v for k, v in timed["latency_ms"].items()}
    (copy / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return copy


# id -> the command, RUN being the run the sweep writes and OTHER another run
WHILE_WRITTEN = {
    "gate": ["gate", "RUN"],
    "gate_all": ["gate", "RUN", "--all"],
    "compare_new": ["compare", "OTHER", "RUN"],
    "compare_base": ["compare", "RUN", "OTHER"],
    "compare_results_file": ["compare", "OTHER", "RUN/results.jsonl"],
}


@pytest.mark.parametrize("case", sorted(WHILE_WRITTEN))
def test_a_run_being_written_is_not_judged(run_copy, tmp_path, case):
    other = remeasured(run_copy, tmp_path / "other")
    args = [a.replace("RUN", str(run_copy)).replace("OTHER", str(other)) for a in WHILE_WRITTEN[case]]
    with held_by_a_sweep(run_copy) as pid:
        before = snapshot(tmp_path)
        code, err, out, _ = run(*args, cwd=tmp_path, timeout=120)
        assert snapshot(tmp_path) == before
    assert code == 2, err + out
    assert first_line(err).startswith(f"liteship {args[0]}: error: {run_copy} is being written by `liteship sweep` "
                                      f"(PID {pid} on "), err
    assert "FAILED" not in out and "passed" not in out, out
    code, err, out, _ = run(*args, cwd=tmp_path, timeout=300)  # the writer is gone, its lock file left: judged
    assert code in (0, 1) and ("gate" if args[0] == "gate" else "compare") in out.splitlines()[-1], err + out


def _replace_current_variants(run_dir: Path) -> None:
    """What a sweep with a changed recipe config has written when it has made its new variants and not yet
    benched them: current_variants.json names new IDs (variants/ holds their files), results.jsonl only the old."""
    index = json.loads((run_dir / "current_variants.json").read_text(encoding="utf-8"))
    for recipes in index.values():
        for recipe, old in recipes.items():
            new = f"n{old[1:]}"
            record = json.loads((run_dir / "variants" / f"{old}.json").read_text(encoding="utf-8"))
            shutil.copy(run_dir / record["file"], run_dir / "variants" / f"{new}.tflite")
            record.update(id=new, file=f"variants/{new}.tflite")
            (run_dir / "variants" / f"{new}.json").write_text(json.dumps(record), encoding="utf-8")
            recipes[recipe] = new
    (run_dir / "current_variants.json").write_text(json.dumps(index), encoding="utf-8")


@pytest.mark.parametrize("extra", [[], ["--all"]], ids=["gate", "gate_all"])
def test_a_gate_with_no_current_variant_to_judge_is_no_verdict(run_copy, tmp_path, extra):
    _replace_current_variants(run_copy)
    before = snapshot(run_copy)
    code, err, out, _ = run("gate", run_copy, *extra, cwd=tmp_path, timeout=120)
    assert code == 2, err + out
    assert first_line(err) == (f"liteship gate: error: {run_copy} has no current variant with results to judge. "
                               "Its results.jsonl holds no record of the variants its latest optimize or sweep made; "
                               f"its {len(list((run_copy / 'variants').glob('n*.json')))} other variants on disk were "
                               "replaced since, so a gate would judge nothing. Fix: bench them (`liteship bench "
                               f"{run_copy}`, or let the sweep finish), then gate again."), err
    assert "0 of 0" not in out and "FAILED" not in out, out
    assert snapshot(run_copy) == before


# id -> NEW, made from the run: every one holds the run's own records, each as it was measured
COPIES = {
    "copied_folder": lambda run, tmp: Path(shutil.copytree(run, tmp / "copy", symlinks=True, copy_function=shutil.copy2,
                                                           ignore=shutil.ignore_patterns(".liteship.lock"))),
    "copied_results_file": lambda run, tmp: Path(shutil.copy2(run / "results.jsonl", tmp / "results.jsonl")),
    "records_reordered": lambda run, tmp: _reordered(run / "results.jsonl", tmp / "results.jsonl"),
}


def _reordered(source: Path, target: Path) -> Path:
    """The same records in the other order, each with its keys in reverse order: the same set of measurements."""
    records = [json.loads(line) for line in source.read_text(encoding="utf-8").splitlines() if line.strip()]
    target.write_text("".join(json.dumps(dict(reversed(r.items()))) + "\n" for r in reversed(records)),
                      encoding="utf-8")
    return target


@pytest.mark.parametrize("case", sorted(COPIES))
def test_a_copy_of_the_run_is_compared_and_said_to_be_one(run_copy, tmp_path, case):
    """A copy of BASE's measurements (or a re-run that reused every record because no file changed: a record is
    reused only for the same bytes) is compared, since "nothing changed" is then true, and the output says that
    nothing was measured twice. Refusing it would fail a pull request that changes no model."""
    new = COPIES[case](run_copy, tmp_path)
    before = snapshot(tmp_path)
    code, err, out, _ = run("compare", run_copy, new, cwd=tmp_path, timeout=120)
    assert code == 0, err + out
    assert "compare passed" in out and "error" not in err, err + out
    assert out.strip().splitlines()[-1] == ("note: BASE and NEW hold the same measurements, record for record (a copy "
                                            "of one run, or a re-run that reused every record because no variant's "
                                            "file changed): every change is zero, and no number was measured twice")
    assert snapshot(tmp_path) == before


def test_a_rerun_that_kept_all_but_one_record_is_compared(run_copy, tmp_path):
    """The control: records a re-run kept are the same as the base's; one measured again makes it another run."""
    new = remeasured(run_copy, tmp_path / "new")
    code, err, out, _ = run("compare", run_copy, new, cwd=tmp_path, timeout=120)
    assert code == 0 and out.splitlines()[-1].startswith("compare passed"), err + out
    assert "same measurements" not in out


def test_pick_of_a_run_moved_without_its_data_ships_and_says_what_it_could_not_check(run_copy, tmp_path):
    """Gate and pick judge a run from its own files (a run copied to another machine is judged the same); only
    pick's check of the app's paths feeds the test photos again. Their folder gone, pick writes the release and
    says that check was not made (it stopped with "Data path ... does not exist")."""
    gone = tmp_path / "photos-not-copied"
    for split in [run_copy / "data" / "split.json", *sorted((run_copy / "float").glob("*/split.json"))]:
        record = json.loads(split.read_text(encoding="utf-8"))
        split.write_text(json.dumps({**record, "source": str(gone)}), encoding="utf-8")
    code, err, out, _ = run("pick", run_copy, cwd=tmp_path, timeout=300)
    assert code == 0, err + out
    said = f"the test photos are not at {gone} (the run was moved or copied without its data)"
    assert f"MediaPipe: not checked ({said}" in out + err, out + err
    assert (run_copy / "release" / "model.tflite").is_file()
    assert f"Not checked in MediaPipe here: {said}" in (run_copy / "release" / "MODEL.md").read_text(encoding="utf-8")
    assert not gone.exists()
