"""Where MLflow writes, attacked (issue 32.9 to 32.11), each case a real `liteship` process.

A tracking URI, experiment, store or track.json that cannot work is exit 2 before any work, with the problem named;
links planted in a run directory are refused, never written through; a damaged store is called damaged (with what
to do), never "the tracker is down". Every case checks the exit code, the message's first line, no traceback, a
timeout, and that every file in the test's folder (the user's database and folders included) is byte for byte the
same afterwards.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.robustness.test_not_ours import liteship, snapshot

pytest.importorskip("mlflow")

REFUSED = r"error: (1 problem|[2-9] problems) in the input; nothing was started or written:"
HALF_MIGRATED = "3500859a5d39"  # MLflow's revision just before the one that adds the datasets table


def _run_dir(path: Path) -> Path:
    """A run directory as the checks see it (marked, with results): every case here is refused before its records
    are read, so none needs a real sweep."""
    from liteship.rundir import MARKER, RESULTS

    path.mkdir(parents=True)
    (path / MARKER).write_text("{}\n")
    (path / RESULTS).write_text("")
    return path


@pytest.fixture(scope="module")
def mlflow_store(tmp_path_factory) -> Path:
    """A whole MLflow store, made by MLflow itself (its own migrations)."""
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    folder = tmp_path_factory.mktemp("store")
    store = SqlAlchemyStore(f"sqlite:///{folder / 'mlflow.db'}", (folder / "art").as_uri())
    store.engine.dispose()
    return folder / "mlflow.db"


def _refused(proc, said: str, command: str = "track") -> None:
    out = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stdout[-1000:] + proc.stderr[-2000:]
    assert re.fullmatch(f"liteship {command}: {REFUSED}", out[0]), proc.stderr
    assert said in " ".join(proc.stderr.split()), proc.stderr
    assert "tracker is back" not in proc.stderr


def _check(tmp_path, args, said, command="track", env=None):
    before = snapshot(tmp_path)
    proc = liteship(command, *args, cwd=tmp_path, env=env, timeout=60)
    _refused(proc, said, command)
    assert snapshot(tmp_path) == before
    assert not (tmp_path / "mlruns").exists()
    return proc


# --------------------------------------------------------------------------- URIs and experiments

URIS = {
    "unknown_scheme": ("banana://x", "MLflow has no store for banana://"),
    "ftp": ("ftp://127.0.0.1/x", "MLflow has no store for ftp://"),
    "file_uri": ("file:///tmp/liteship-mlruns", "a folder store"),
    "plain_relative_path": ("mlruns", "a folder store"),
    "plain_absolute_path": ("/tmp/liteship-mlruns", "a folder store"),
    "port_too_high": ("http://127.0.0.1:99999", "its port is not a number from 1 to 65535"),
    "port_not_a_number": ("https://127.0.0.1:abc", "its port is not a number from 1 to 65535"),
    "port_zero": ("http://127.0.0.1:0", "it names no host (or port 0)"),
    "no_host": ("http://:5000", "it names no host"),
    "sqlite_folder_missing": ("sqlite:////nonexistent/dir/x.db", "its folder /nonexistent/dir does not exist"),
    "sqlite_no_file": ("sqlite:///", "it names no database file"),
    "sqlite_memory": ("sqlite:///:memory:", "it names no database file"),
    "sqlite_relative_missing": ("sqlite:///no/such/folder/x.db", "its folder no/such/folder does not exist"),
    "sqlite_question_mark": ("sqlite:///TMP/we?ird.db", "holds one of ? # %"),
    "sqlite_hash": ("sqlite:///TMP/we#ird.db", "holds one of ? # %"),
    "sqlite_percent": ("sqlite:///TMP/a%41b.db", "holds one of ? # %"),
    "blank": ("   ", "it is empty"),
    "malformed_ipv6": ("http://[::1", "it is not a well-formed URI"),
    "spaces_around": (" http://127.0.0.1:5000", "it has spaces around it"),
    "databricks_no_profile": ("databricks://", "MLflow has no store for databricks://"),
    "unknown_database_driver": ("postgresql+nope://127.0.0.1/x", "SQLAlchemy cannot read it"),
}


@pytest.mark.parametrize("case", sorted(URIS))
def test_a_uri_mlflow_cannot_serve_is_refused_before_work(tmp_path, case):
    uri, said = URIS[case]
    run = _run_dir(tmp_path / "run")
    _check(tmp_path, [run, "--uri", uri.replace("TMP", str(tmp_path))], said)
    assert not Path("/nonexistent").exists()


@pytest.mark.parametrize("case", sorted(c for c in URIS if URIS[c][0].strip()))  # blank: unset, the default store
def test_the_same_uri_from_the_environment_is_refused_and_named(tmp_path, case):
    uri, said = URIS[case]
    run = _run_dir(tmp_path / "run")
    proc = _check(tmp_path, [run], said, env={"MLFLOW_TRACKING_URI": uri.replace("TMP", str(tmp_path))})
    assert "MLFLOW_TRACKING_URI" in proc.stderr


@pytest.mark.parametrize("length", [257, 10_000])
def test_an_experiment_name_mlflow_cannot_store_is_refused(tmp_path, length):
    run = _run_dir(tmp_path / "run")
    _check(tmp_path, [run, "--experiment", "x" * length], f"it has {length} characters; MLflow stores at most 256")


@pytest.mark.parametrize("name", ["we?ird#1 %20x", "a%41b", "q?x", "h#x", "50%", os.fsdecode(b"not-utf8-\xff")])
def test_a_run_directory_whose_name_would_move_its_store_is_refused(tmp_path, name):
    run = _run_dir(tmp_path / "runs" / name)
    _check(tmp_path, [run], "its path (in the store's URI")
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == [name]  # no store at runs/we


def test_a_database_uri_whose_driver_is_missing_is_refused_before_work(tmp_path):
    import importlib.util

    if importlib.util.find_spec("pymssql"):
        pytest.skip("pymssql is installed here")
    _check(tmp_path, [_run_dir(tmp_path / "run"), "--uri", "mssql+pymssql://u@127.0.0.1/db"],
           "its database driver (pymssql) is not installed here")


FOREIGN = {  # what a custom sqlite URI names -> what the refusal says; none of it may be written
    "a_runs_results": ("run/results.jsonl", "is no MLflow store (it is not an SQLite database)"),
    "a_users_database": ("user_app.db", "it holds none of MLflow's tables (its tables: customers)"),
    "a_folder": ("user_folder", "it is a folder, not a database file"),
    "proc_kmsg": ("/proc/kmsg", "it is in /proc"),
    "dev_null": ("/dev/null", "it is in /dev"),
    "a_link_to_proc": ("kmsg-link.db", "it is in /proc"),
}


@pytest.mark.parametrize("case", sorted(FOREIGN))
def test_a_custom_sqlite_uri_naming_a_file_that_is_no_store_is_refused(tmp_path, case):
    name, said = FOREIGN[case]
    run = _run_dir(tmp_path / "run")
    (run / "results.jsonl").write_text('{"a": 1}\n')
    _user_db(tmp_path / "user_app.db")
    (tmp_path / "user_folder").mkdir()
    os.symlink("/proc/kmsg", tmp_path / "kmsg-link.db")
    target = name if name.startswith("/") else tmp_path / name
    _check(tmp_path, [run, "--uri", f"sqlite:///{target}"], said)


# --------------------------------------------------------------------------- links and damaged stores


def _user_db(path: Path) -> Path:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
    con.execute("INSERT INTO customers (name) VALUES ('Ada')")
    con.commit()
    con.close()
    return path


LINKS = {
    "store_to_a_users_database": ("mlflow.db", "../user_app.db"),
    "store_dangling": ("mlflow.db", "../not_there.db"),
    "artifacts_to_a_users_folder": ("mlartifacts", "../user_folder"),
    "artifacts_inside_to_a_users_folder": ("mlartifacts/1", "../../user_folder"),
}


@pytest.mark.parametrize("case", sorted(LINKS))
def test_a_link_planted_in_a_run_directory_is_refused_never_followed(tmp_path, case):
    name, target = LINKS[case]
    run = _run_dir(tmp_path / "run")
    _user_db(tmp_path / "user_app.db")
    (tmp_path / "user_folder").mkdir()
    (tmp_path / "user_folder" / "thesis.tex").write_text("mine\n")
    (run / name).parent.mkdir(parents=True, exist_ok=True)
    os.symlink(target, run / name)
    _check(tmp_path, [run], f'a link to "{target}"')


def test_a_store_hard_linked_to_another_file_is_refused(tmp_path, mlflow_store):
    run = _run_dir(tmp_path / "run")
    shutil.copyfile(mlflow_store, tmp_path / "team.db")
    os.link(tmp_path / "team.db", run / "mlflow.db")
    _check(tmp_path, [run], "a file with another name too (a hard link)")


@pytest.mark.parametrize("command", ["track", "pick"])
@pytest.mark.parametrize("target", ["/proc/kmsg", "../notes.txt"])
def test_a_linked_track_json_is_refused_never_read(tmp_path, command, target):
    run = _run_dir(tmp_path / "run")
    (tmp_path / "notes.txt").write_text('{"uri": null, "experiment": "mine"}\n')
    os.symlink(target, run / "track.json")
    before = snapshot(tmp_path)
    proc = liteship(command, run, cwd=tmp_path, timeout=30)  # /proc/kmsg, if read, would never end
    assert proc.returncode == 2 and f'track.json = a link to "{target}"' in proc.stderr, proc.stderr
    assert snapshot(tmp_path) == before


def _damage(kind: str, db: Path, store: Path) -> None:
    if kind == "folder":
        db.mkdir()
        return
    if kind in ("empty", "garbage"):
        db.write_bytes(b"" if kind == "empty" else b"this is not a database\n" * 100)
        return
    shutil.copyfile(store, db)
    if kind == "truncated":
        db.write_bytes(db.read_bytes()[:5000])
        return
    con = sqlite3.connect(db)
    con.execute({"dropped_table": "DROP TABLE datasets", "half_migrated": "UPDATE alembic_version SET version_num "
                 f"= '{HALF_MIGRATED}'", "no_version": "DELETE FROM alembic_version",
                 "not_mlflow": "DROP TABLE experiments"}[kind])
    con.commit()
    con.close()


DAMAGE = {"folder": "it is a folder", "empty": "it is empty", "garbage": "it is not an SQLite database",
          "truncated": "SQLite cannot read it", "dropped_table": "missing: datasets",
          "half_migrated": f"its schema is at revision {HALF_MIGRATED}", "no_version": "missing: its schema version",
          "not_mlflow": "missing: experiments"}


@pytest.mark.parametrize("kind", sorted(DAMAGE))
def test_a_damaged_store_is_called_damaged_with_what_to_do(tmp_path, mlflow_store, kind):
    run = _run_dir(tmp_path / "run")
    _damage(kind, run / "mlflow.db", mlflow_store)
    proc = _check(tmp_path, [run], DAMAGE[kind])
    assert "the MLflow store is damaged: " in proc.stderr and "move it away" in proc.stderr
    assert "mlflow.db.broken" in proc.stderr


@pytest.mark.parametrize("kind, said", [("half_migrated", "the MLflow store is damaged"),
                                        ("truncated", "the MLflow store is damaged"),
                                        ("garbage", "shared.db is no MLflow store (it is not an SQLite database)")])
def test_a_damaged_shared_store_is_refused_too(tmp_path, mlflow_store, kind, said):
    run = _run_dir(tmp_path / "run")
    (tmp_path / "team").mkdir()
    _damage(kind, tmp_path / "team" / "shared.db", mlflow_store)
    _check(tmp_path, [run, "--uri", f"sqlite:///{tmp_path / 'team' / 'shared.db'}"], said)


# --------------------------------------------------------------------------- track.json, [track]

TRACK_JSON = {"uri_a_number": ('{"uri": 5, "experiment": "x"}', "uri = 5: it must be text or null"),
              "experiment_a_list": ('{"uri": null, "experiment": ["a"]}', "it must be text or null"),
              "a_list": ("[]", "it holds a JSON list, not an object"),
              "not_json": ("uri = x", "it is not valid JSON")}


@pytest.mark.parametrize("command", ["track", "pick"])
@pytest.mark.parametrize("case", sorted(TRACK_JSON))
def test_a_track_json_with_wrong_types_is_named(tmp_path, case, command):
    text, said = TRACK_JSON[case]
    run = _run_dir(tmp_path / "run")
    (run / "track.json").write_text(text)
    before = snapshot(tmp_path)
    proc = liteship(command, run, cwd=tmp_path, timeout=60)
    assert proc.returncode == 2 and "track.json" in proc.stderr and said in " ".join(proc.stderr.split()), \
        proc.stderr
    assert snapshot(tmp_path) == before


SWEEP_TRACK = {  # [track] table -> what the refusal says
    "uri_without_mlflow": ('uri = "http://127.0.0.1:5000"', "mlflow = true is not"),
    "experiment_without_mlflow": ('experiment = "team"', "mlflow = true is not"),
    "unknown_scheme": ('mlflow = true\nuri = "banana://x"', "MLflow has no store for banana://"),
    "plain_path": ('mlflow = true\nuri = "mlruns"', "a folder store"),
    "port_too_high": ('mlflow = true\nuri = "http://127.0.0.1:99999"', "its port is not a number"),
    "sqlite_folder_missing": ('mlflow = true\nuri = "sqlite:////nonexistent/dir/x.db"', "does not exist"),
    "long_experiment": (f'mlflow = true\nexperiment = "{"e" * 10_000}"', "MLflow stores at most 256"),
}


@pytest.mark.parametrize("case", sorted(SWEEP_TRACK))
def test_a_sweep_whose_tracker_cannot_work_is_refused_before_training(tmp_path, case):
    table, said = SWEEP_TRACK[case]
    (tmp_path / "s.toml").write_text(f'[[models]]\narch = "small_cnn"\nsize = 16\n[track]\n{table}\n')
    _check(tmp_path, ["--data", "digits", "--config", tmp_path / "s.toml", "--out", tmp_path / "run"], said,
           command="sweep")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("plant", ["store_link", "name", "damaged"])
def test_a_sweep_into_a_run_directory_its_store_cannot_use_is_refused_before_work(tmp_path, plant):
    run = _run_dir(tmp_path / ("we?ird" if plant == "name" else "run"))
    _user_db(tmp_path / "user_app.db")
    if plant == "store_link":
        os.symlink("../user_app.db", run / "mlflow.db")
    if plant == "damaged":
        (run / "mlflow.db").write_text("garbage")
    _check(tmp_path, ["--data", "digits", "--out", run, "--track", "mlflow"],
           {"store_link": "a link to", "name": "its path (in the store's URI", "damaged": "damaged"}[plant],
           command="sweep")


# --------------------------------------------------------------------------- interruptions and races (real stores)


@pytest.mark.slow  # MLflow's migrations and a logging pass, twice: about 30 s
def test_ctrl_c_during_the_first_store_creation_leaves_no_half_store(run_copy):
    from liteship.files import TEMP_PREFIX

    from tests.robustness.test_signals import ctrl_c_reaches_it

    proc = subprocess.Popen([sys.executable, "-m", "liteship", "track", str(run_copy)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=ctrl_c_reaches_it)
    def store_begun() -> bool:  # SQLite's journal beside the temp store comes and goes: a vanished file is no size
        for p in run_copy.iterdir():
            try:
                if p.name.startswith(f"{TEMP_PREFIX}mlflow.db") and p.stat().st_size:
                    return True
            except FileNotFoundError:
                continue
        return False

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not store_begun():
        time.sleep(0.02)
    time.sleep(0.3)  # in the middle of MLflow's migrations
    assert not (run_copy / "mlflow.db").exists()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "Traceback" not in err, err
    assert not (run_copy / "mlflow.db").exists() and not any("mlflow" in p.name for p in run_copy.iterdir())
    done = liteship("track", run_copy, timeout=300)
    assert done.returncode == 0 and "mlflow: logged the sweep and 3 variant run(s)" in done.stdout, done.stderr


@pytest.mark.slow  # two logging passes at once into one new store: about 40 s
def test_two_first_uses_of_one_shared_store_both_log(run_copy, tmp_path):
    from mlflow.tracking import MlflowClient

    other = tmp_path / "other"
    shutil.copytree(run_copy, other)
    (tmp_path / "team").mkdir()
    uri = f"sqlite:///{tmp_path / 'team' / 'shared.db'}"
    procs = [subprocess.Popen([sys.executable, "-m", "liteship", "track", str(run), "--uri", uri],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for run in (run_copy, other)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    client = MlflowClient(tracking_uri=uri)
    for name in (run_copy.name, other.name):
        exp = client.get_experiment_by_name(name)
        assert len(client.search_runs([exp.experiment_id])) == 4  # a parent and three variants, each once
        assert exp.artifact_location == (tmp_path / "team" / "mlartifacts").as_uri()


@pytest.mark.slow  # makes one variant again: about 20 s
def test_a_linked_logs_folder_gets_no_jobs_file(run_copy, tmp_path, swept):
    _, cfg, _ = swept
    (tmp_path / "user_logs").mkdir()
    (tmp_path / "user_logs" / "app.log").write_text("mine\n")
    shutil.rmtree(run_copy / "logs", ignore_errors=True)
    os.symlink("../user_logs", run_copy / "logs")
    variant = json.loads((run_copy / "results.jsonl").read_text().splitlines()[-1])["variant"]
    for path in (run_copy / "variants").glob(f"{variant}.*"):
        path.unlink()  # the sweep has a job to run: make this variant again
    before = snapshot(tmp_path / "user_logs")
    done = liteship("sweep", "--data", "digits", "--config", cfg, "--out", run_copy, "--quiet", timeout=600)
    assert done.returncode == 0, done.stderr
    assert (run_copy / "variants" / f"{variant}.tflite").is_file()
    assert snapshot(tmp_path / "user_logs") == before  # neither jobs.json nor frameworks.log went through the link


@pytest.mark.slow  # a logging pass and two picks: about 30 s
@pytest.mark.parametrize("how", ["copied", "moved"])
def test_pick_in_a_copied_or_moved_run_directory_never_writes_into_the_original(run_copy, tmp_path, how):
    logged = liteship("track", run_copy, timeout=300)
    assert logged.returncode == 0, logged.stderr
    other = tmp_path / f"{how}-run"
    (shutil.copytree if how == "copied" else shutil.move)(run_copy, other)
    before = snapshot(run_copy) if run_copy.exists() else None
    proc = liteship("pick", other, timeout=300)
    assert proc.returncode == 0, proc.stderr
    said = " ".join(proc.stdout.split())
    assert "another run directory (this one was moved or copied)" in said and f"({other.resolve()})" in said
    assert (snapshot(run_copy) if run_copy.exists() else None) == before  # nor a moved one's old path made again
    assert any((other / "mlartifacts").rglob("MODEL.md")) or any((other / "mlartifacts").rglob("*.tflite"))
