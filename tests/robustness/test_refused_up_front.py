"""Bad input refused before any work, in words (issue 19): values and tables checked up front, damaged
run-directory files, paths and archives the system cannot take, and the messages that misled. Each case in a
real `liteship` process, with the helpers and fixtures of test_not_ours."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from tests.conftest import write_class_folder
from tests.robustness.test_not_ours import liteship, snapshot


# --------------------------------------------------------------------------- checks up front


@pytest.mark.parametrize("value", ["banana", "v2.14", "", "2.99"])
def test_a_target_runtime_liteship_does_not_know_is_exit_2(tmp_path, results_file, value):
    (tmp_path / "liteship.toml").write_text(f'[budgets]\ntarget_runtime = "{value}"\n')
    proc = liteship("gate", results_file.parent, "--budgets", tmp_path / "liteship.toml")
    assert proc.returncode == 2 and "target_runtime" in proc.stderr, proc.stderr


def test_a_sweep_target_runtime_is_refused_before_training(tmp_path):
    (tmp_path / "s.toml").write_text('[[models]]\narch = "small_cnn"\nsize = 16\n[bench]\ntarget_runtime = "2.99"\n')
    proc = liteship("sweep", "--data", "digits", "--config", tmp_path / "s.toml", "--out", tmp_path / "run",
                    timeout=60)
    assert proc.returncode == 2 and "target_runtime" in proc.stderr and not (tmp_path / "run").exists()


@pytest.mark.parametrize("flags, said", [(["--workers", "two"], '"two"'), (["--workers", "0"], "0"),
                                         (["--workers", "2", "--executor", "ray"], "Ray places its tasks")])
def test_workers_that_cannot_be_are_refused_before_training(tmp_path, flags, said):
    proc = liteship("sweep", "--data", "digits", "--out", tmp_path / "run", *flags, timeout=60)
    assert proc.returncode == 2 and "--workers" in proc.stderr and said in proc.stderr, proc.stderr
    assert not (tmp_path / "run").exists()


def test_a_misspelt_table_is_named_as_a_likely_typo(tmp_path, results_file):
    (tmp_path / "liteship.toml").write_text("[budgets]\nmax_size_kb = 500\n[comapre]\nmax_size_increase = 0\n")
    proc = liteship("gate", results_file.parent, "--budgets", tmp_path / "liteship.toml")
    assert proc.returncode == 2 and "[comapre]" in proc.stderr and "did you mean [compare]" in proc.stderr


def test_a_budget_on_a_backend_the_results_lack_is_exit_2(tmp_path, results_file):
    (tmp_path / "liteship.toml").write_text('[budgets]\nbackend = "fp16"\nmax_latency_ms = 100\n')
    proc = liteship("gate", results_file.parent, "--budgets", tmp_path / "liteship.toml")
    assert proc.returncode == 2 and "fp16" in proc.stderr and "xnnpack@1" in proc.stderr, proc.stderr


def test_compare_of_two_runs_that_share_no_variant_is_exit_2(tmp_path, results_file):
    other = tmp_path / "other.jsonl"
    lines = [json.loads(line) for line in results_file.read_text().splitlines()]
    other.write_text("".join(json.dumps({**r, "model": "another_model"}) + "\n" for r in lines))
    proc = liteship("compare", results_file, other)
    assert proc.returncode == 2 and "share no variant" in proc.stderr and "compare passed" not in proc.stdout


def test_compare_says_when_the_test_images_differ(tmp_path, results_file):
    other = tmp_path / "other.jsonl"
    lines = [json.loads(line) for line in results_file.read_text().splitlines()]
    other.write_text("".join(json.dumps({**r, "data": {**(r.get("data") or {}), "content_hash": "f" * 64}}) + "\n"
                             for r in lines))
    proc = liteship("compare", results_file, other, "--json", tmp_path / "c.json")
    accuracy = [c for c in json.loads((tmp_path / "c.json").read_text())["changes"] if c["metric"] == "top1"]
    assert accuracy and all("different test images" in c["note"] for c in accuracy), proc.stdout


# --------------------------------------------------------------------------- damaged run-directory files


def _damage(run: Path, which: str) -> Path:
    vid = json.loads((run / "current_variants.json").read_text())
    first = next(iter(next(iter(vid.values())).values()))
    path = {"current": run / "current_variants.json", "current_list": run / "current_variants.json",
            "variant": run / "variants" / f"{first}.json", "card": next((run / "float").glob("*/card.json")),
            "split": next((run / "float").glob("*/split.json"))}[which]  # the model's own split: what bench reads
    path.write_text("[1, 2]\n" if which == "current_list" else '{"truncated": ')
    return path


@pytest.mark.parametrize("which,command", [("current", "gate"), ("current_list", "pick"), ("variant", "gate"),
                                           ("card", "gate"), ("split", "bench")])
def test_a_damaged_run_file_is_exit_2_naming_it_and_its_rebuild(run_copy, which, command):
    path = _damage(run_copy, which)
    args = [command, run_copy] + (["--backends", "xnnpack", "--runs", "2", "--rounds", "1"] if command == "bench"
                                  else [])
    before = snapshot(run_copy)
    proc = liteship(*args, timeout=300)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert str(path) in proc.stderr and "damaged" in proc.stderr and "re-run `liteship" in proc.stderr
    after = snapshot(run_copy)
    assert {k: v for k, v in after.items() if not k.startswith("logs/")} == \
        {k: v for k, v in before.items() if not k.startswith("logs/")}


def test_a_record_that_contradicts_itself_is_refused(run_copy):
    results = run_copy / "results.jsonl"
    lines = results.read_text().splitlines()
    first = json.loads(lines[0])
    assert first["correct"] and first["top1"] is not None
    first["top1"] = round(min(1.0, first["top1"] + 0.05), 6)  # a hand-edited top-1
    results.write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n")
    proc = liteship("gate", run_copy)
    assert proc.returncode == 2 and "line 1" in proc.stderr and "contradicts itself" in proc.stderr


# --------------------------------------------------------------------------- paths and archives


def test_a_path_component_over_255_bytes_is_exit_2(tmp_path):
    long = tmp_path / ("x" * 300)
    for args in (["train", "--data", long, "--out", tmp_path / "r"], ["gate", long], ["sweep", "--data", "digits",
                                                                                      "--out", long / "r"]):
        proc = liteship(*args, timeout=60)
        assert proc.returncode == 2 and "xxxxxxxx" in proc.stderr, proc.stderr


@pytest.mark.parametrize("case", ["clash", "long_member", "mislabelled"])
def test_a_hostile_archive_is_refused_in_words(tmp_path, case):
    archive = tmp_path / ("photos.tar.gz" if case == "mislabelled" else "photos.zip")
    with zipfile.ZipFile(archive, "w") as zf:
        for c in ("a", "b"):
            for i in range(3):
                zf.writestr(f"{c}/img{i}.png", b"not really")
        if case == "clash":
            zf.writestr("a/x", b"a file ...")
            zf.writestr("a/x/y.png", b"... and a folder")
        if case == "long_member":
            zf.writestr("a/" + "n" * 300 + ".png", b"x")
    proc = liteship("train", "--data", archive, "--size", "16", "--out", tmp_path / "run", timeout=120)
    assert proc.returncode == 2, proc.stderr
    said = {"clash": "is a file and also a folder", "long_member": "more than the 255",
            "mislabelled": "look like a zip archive"}[case]
    assert said in proc.stderr and archive.name in proc.stderr


# --------------------------------------------------------------------------- messages


def test_bench_of_a_run_refuses_data_and_labels(run_copy, tmp_path):
    proc = liteship("bench", run_copy, "--data", "digits", "--labels", tmp_path, timeout=60)
    assert proc.returncode == 2 and "--data" in proc.stderr and "--labels" in proc.stderr


def test_labels_that_are_a_folder_are_called_a_folder(tmp_path, optimized_run):
    out, variants = optimized_run
    proc = liteship("bench", out / "variants" / f"{variants['int8']['id']}.tflite", "--labels", tmp_path,
                    "--data", "digits")
    assert proc.returncode == 2 and "it is a folder" in proc.stderr and "does not exist" not in proc.stderr


def test_weights_and_fine_tune_at_for_small_cnn_are_refused(tmp_path):
    proc = liteship("train", "--data", "digits", "--arch", "small_cnn", "--weights", "none", "--fine-tune-at", "3",
                    "--out", tmp_path / "run", timeout=60)
    assert proc.returncode == 2 and "--weights" in proc.stderr and "--fine-tune-at" in proc.stderr


def test_report_markdown_escapes_html_from_class_names():
    from liteship.report.document import Para, Section, Table, markdown

    text = markdown("t", [Section("s", "s", [Para("class <img src=x onerror=alert(1)>"),
                                             Table(["class"], [["<script>x</script>"]])])])
    assert "<img" not in text and "<script>" not in text and "&lt;script&gt;" in text


def test_the_sweep_estimate_grows_with_runs_and_rounds():
    from liteship.workflow.estimate import sweep_estimates
    from liteship.workflow.sweep_config import DEFAULT_SWEEP
    from dataclasses import replace

    base = sum(e.seconds for _, _, e in sweep_estimates(DEFAULT_SWEEP, "digits"))
    more = replace(DEFAULT_SWEEP, bench=replace(DEFAULT_SWEEP.bench, runs=DEFAULT_SWEEP.bench.runs * 10))
    assert sum(e.seconds for _, _, e in sweep_estimates(more, "digits")) > base * 1.1


@pytest.mark.slow
def test_a_model_with_two_outputs_is_not_given_a_top1(tmp_path):
    code = textwrap.dedent(f"""
        import tensorflow as tf, tf_keras as keras
        inp = keras.Input((8, 8, 3))
        x = keras.layers.GlobalAveragePooling2D()(inp)
        m = keras.Model(inp, [keras.layers.Dense(3, activation="softmax")(x), keras.layers.Dense(2)(x)])
        open({str(tmp_path / 'two.tflite')!r}, "wb").write(tf.lite.TFLiteConverter.from_keras_model(m).convert())
    """)
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, timeout=300)
    (tmp_path / "labels.txt").write_text("a\nb\nc\n")
    proc = liteship("bench", tmp_path / "two.tflite", "--data", "digits", "--backends", "xnnpack")
    assert proc.returncode == 2 and "expected 1 output tensor, found 2" in proc.stderr and "top-1" in proc.stderr


def test_a_large_skip_list_is_summarised_on_the_terminal_and_kept_whole_in_the_card(tmp_path):
    import io

    from liteship.progress import Progress
    from liteship.rundir import claim
    from liteship.trainer import TrainConfig
    from liteship.trainer.training import SHOWN_SKIPS, prepare_data

    data = write_class_folder(tmp_path / "data", per_class=4)
    for i in range(60):
        (data / "one" / f"note_{i:03d}.txt").write_text("not an image")
    stream = io.StringIO()
    prep = prepare_data(str(data), TrainConfig(arch="small_cnn", size=16).resolved(), claim(tmp_path / "run"),
                        Progress(stream=stream, bar=False))
    lines = stream.getvalue().splitlines()
    assert sum(line.startswith("skipped ") for line in lines) == SHOWN_SKIPS == 20
    assert any("60 files skipped (40 not shown above)" in line and "60 not an image file type" in line
               for line in lines), lines
    assert len(prep.dataset.skipped) == 60
