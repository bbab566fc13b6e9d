"""The tracker's store in a real run directory: what a failed or interrupted pass leaves, a moved or copied run
directory, a custom SQLite file, and a store damaged or a link planted after the command's checks (issue 32)."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from liteship.app.cli import main
from tests.app.test_mlflow import _lines, _runs

mlflow = pytest.importorskip("mlflow")
from mlflow.tracking import MlflowClient  # noqa: E402




def test_an_interrupted_pass_leaves_no_run_a_later_pass_cannot_find(run_copy, monkeypatch):
    """The tracker fails right after a variant's run is made (in this process: MLflow's own client, made to fail
    there); the next pass finds that run, so each variant has one run (a hand count: the results' variants)."""
    from liteship.workflow.mlflow_log import log_sweep
    from liteship.workflow.track import default_tracking, describe_run_dir

    run, _ = run_copy
    tracking = default_tracking(run)
    real = MlflowClient.create_run

    def made_then_lost(self, experiment_id, *args, tags=None, **kwargs):
        made = real(self, experiment_id, *args, tags=tags, **kwargs)
        if "liteship.variant_id" in (tags or {}):
            raise ConnectionError("the tracker went away")
        return made

    monkeypatch.setattr(MlflowClient, "create_run", made_then_lost)
    assert log_sweep(describe_run_dir(run), tracking).missed
    monkeypatch.setattr(MlflowClient, "create_run", real)
    logged = log_sweep(describe_run_dir(run), tracking)
    assert not logged.missed, logged.error
    _, parents, children = _runs(tracking.uri, "weekly")
    variants = sorted({line["variant"] for line in _lines(run)})
    assert len(parents) == 1 and sorted(c.data.tags["liteship.variant_id"] for c in children) == variants


@pytest.mark.parametrize("how", ["copied", "moved"])
def test_pick_in_a_copied_or_moved_run_directory_writes_only_into_it(run_copy, tmp_path, capsys, how):
    from tests.robustness.test_not_ours import snapshot

    run, cfg = run_copy
    assert main(["track", str(run)]) == 0
    other = tmp_path / f"{how}-run"
    (shutil.copytree if how == "copied" else shutil.move)(run, other)
    before = snapshot(run) if run.exists() else None
    capsys.readouterr()
    assert main(["pick", str(other)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert (snapshot(run) if run.exists() else None) == before  # the original untouched, a moved one not made again
    assert f"keeps its artifacts in {(run / 'mlartifacts').as_uri()}" in out, out
    client = MlflowClient(tracking_uri=f"sqlite:///{other.resolve() / 'mlflow.db'}")
    exp = client.get_experiment_by_name(f"weekly ({other.resolve()})")
    assert exp.artifact_location == (other.resolve() / "mlartifacts").as_uri()
    picked = [r for r in client.search_runs([exp.experiment_id]) if r.data.tags.get("picked") == "true"]
    assert len(picked) == 1 and picked[0].info.artifact_uri.startswith(exp.artifact_location)
    assert any((other / "mlartifacts").rglob(f"{picked[0].data.tags['liteship.variant_id']}.tflite"))


def test_a_custom_sqlite_store_keeps_its_artifacts_beside_it_not_in_the_working_directory(run_copy, tmp_path):
    run, _ = run_copy  # the working directory is tmp_path
    (tmp_path / "team").mkdir()
    assert main(["track", str(run), "--uri", "sqlite:///team/shared.db"]) == 0
    assert not (tmp_path / "mlruns").exists()  # MLflow's default artifact root, ./mlruns
    assert any((tmp_path / "team" / "mlartifacts").rglob("*.tflite"))
    saved = json.loads((run / "track.json").read_text())
    assert saved["uri"] == f"sqlite:///{tmp_path / 'team' / 'shared.db'}"  # the same file from any folder


def test_a_store_damaged_after_the_checks_is_said_to_be_damaged_not_down(run_copy):
    """The logging pass reads the store again: garbage in its place (written after the command's checks) is called
    damaged, with what to do, and left as it is, never answered with "when the tracker is back"."""
    from liteship.workflow.mlflow_log import log_sweep
    from liteship.workflow.track import default_tracking, describe_run_dir

    run, _ = run_copy
    (run / "mlflow.db").write_text("garbage")
    logged = log_sweep(describe_run_dir(run), default_tracking(run))
    said = " ".join(logged.lines(run))
    assert "the store is damaged: it is not an SQLite database" in said and "move it away" in said, said
    assert "tracker is back" not in said and "not logged: the sweep's parent run" in said
    assert (run / "mlflow.db").read_text() == "garbage"


def test_an_artifacts_link_planted_after_the_checks_is_not_written_through(run_copy, tmp_path):
    from liteship.workflow.mlflow_log import log_sweep
    from liteship.workflow.track import default_tracking, describe_run_dir

    run, _ = run_copy
    (tmp_path / "elsewhere").mkdir()
    os.symlink(tmp_path / "elsewhere", run / "mlartifacts")
    logged = log_sweep(describe_run_dir(run), default_tracking(run))
    assert logged.missed and "is a link" in logged.error and "rm '" in logged.fix
    assert not any((tmp_path / "elsewhere").iterdir()) and not (run / "mlflow.db").exists()
