"""Nothing stale is reused, benched, gated or picked: scenario tests with known outcomes."""

import json
import shutil

import pytest
from PIL import Image

from liteship.app.cli import main
from liteship.bench.run import variant_status

SWEEP = """
[train]
epochs = 2
[[models]]
arch = "small_cnn"
size = 16
[optimize]
recipes = ["float32", "int8"]
[bench]
backends = ["xnnpack"]
runs = 5
rounds = 2
instructions = false
arm64 = false
"""


def _ids(out):
    return sorted(rec["id"] for rec in variant_status(out)[0])


def _generous(tmp_path) -> str:
    """Budgets every sound variant passes: a known outcome (exit 0), whatever the accuracies."""
    path = tmp_path / "generous.toml"
    path.write_text("[budgets]\nmax_size_kb = 100000.0\n")
    return str(path)


def _sweep(data, out, cfg, capsys) -> str:
    assert main(["sweep", "--data", str(data), "--config", str(cfg), "--out", str(out), "--quiet"]) == 0
    return capsys.readouterr().out


@pytest.fixture(scope="module")
def base(tf_available, tmp_path_factory, class_folder):
    root = tmp_path_factory.mktemp("stale")
    data = root / "photos"
    shutil.copytree(class_folder, data)
    cfg = root / "sweep.toml"
    cfg.write_text(SWEEP)
    out = root / "run"
    assert main(["sweep", "--data", str(data), "--config", str(cfg), "--out", str(out), "--quiet"]) == 0
    return root, data, cfg, out


def _copy(base, tmp_path):
    root, data, cfg, out = base
    shutil.copytree(data, tmp_path / "photos")
    shutil.copytree(out, tmp_path / "run")
    return tmp_path / "photos", cfg, tmp_path / "run"


def test_new_photos_at_the_same_path_retrain_and_the_old_variants_go_stale(base, tmp_path, capsys):
    data, cfg, out = _copy(base, tmp_path)
    # The run was made from the original folder's path; point this copy at its own photos first.
    _sweep(data, out, cfg, capsys)
    before = _ids(out)
    photo = sorted((data / "one").glob("*.png"))[0]
    Image.new("RGB", (24, 24), (200, 10, 10)).save(photo)  # one photo changed, same path, same name
    _sweep(data, out, cfg, capsys)
    after = _ids(out)
    assert set(before).isdisjoint(after) and len(after) == 2  # retrained: new weights, new data hash, new IDs
    stale = {rec["id"] for rec, _ in variant_status(out)[1]}
    assert set(before) <= stale
    assert main(["gate", str(out), "--all", "--budgets", _generous(tmp_path)]) == 0  # every current one passes
    printed = capsys.readouterr().out
    gated = "\n".join(line for line in printed.splitlines() if not line.startswith("stale: "))
    assert all(vid not in gated for vid in before) and all(vid in gated for vid in after)
    assert all(f"stale: {vid}" in printed for vid in before)  # listed, not judged
    report = (out / "report.md").read_text()
    assert all(vid not in report for vid in before)


def test_a_replaced_tflite_is_refused_by_gate_and_pick(base, tmp_path, capsys):
    _, _, out = _copy(base, tmp_path)
    variants = {json.loads(p.read_text())["recipe"]: p.with_suffix(".tflite")
                for p in (out / "variants").glob("*.json")}
    shutil.copyfile(variants["float32"], variants["int8"])
    for command in (["gate", str(out)], ["pick", str(out)]):
        assert main(command) == 2
        err = capsys.readouterr().err
        assert f"{variants['int8']} is not the file its results were measured on" in err
        assert f"re-run `liteship bench {out}`" in err


def test_a_changed_recipe_config_makes_a_new_variant_and_the_old_one_is_never_judged(base, tmp_path, capsys):
    data, cfg, out = _copy(base, tmp_path)
    _sweep(data, out, cfg, capsys)
    old_int8 = next(rec["id"] for rec in variant_status(out)[0] if rec["recipe"] == "int8")
    changed = tmp_path / "changed.toml"
    changed.write_text(SWEEP + "[optimize.int8]\ncalibration_images = 50\n")
    _sweep(data, out, changed, capsys)
    current = {rec["recipe"]: rec["id"] for rec in variant_status(out)[0]}
    assert current["int8"] != old_int8 and (out / "variants" / f"{old_int8}.tflite").is_file()  # kept on disk
    assert [rec["id"] for rec, _ in variant_status(out)[1]] == [old_int8]
    assert main(["gate", str(out), "--all", "--budgets", _generous(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert old_int8 not in "\n".join(line for line in printed.splitlines() if not line.startswith("stale: "))
    assert main(["bench", str(out), "--backends", "xnnpack", "--runs", "3", "--rounds", "1"]) == 0
    printed = capsys.readouterr()
    assert old_int8 not in printed.out.split("stale")[0] and f"stale: {old_int8}" in printed.out


def test_changed_bench_options_measure_again(base, tmp_path, capsys):
    data, cfg, out = _copy(base, tmp_path)
    _sweep(data, out, cfg, capsys)
    first = (out / "results.jsonl").read_text()
    _sweep(data, out, cfg, capsys)
    assert (out / "results.jsonl").read_text() == first  # same options: reused
    more = tmp_path / "more.toml"
    more.write_text(SWEEP.replace("runs = 5", "runs = 7"))
    _sweep(data, out, more, capsys)
    lines = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert {r["options"]["runs"] for r in lines} == {7}


def test_a_moved_run_directory_gates_and_picks_the_same(base, tmp_path, capsys):
    _, _, out = _copy(base, tmp_path)
    budgets = tmp_path / "liteship.toml"
    budgets.write_text('[budgets]\nmax_accuracy_drop = 0.05\ntarget_runtime = "2.14"\n')
    assert main(["gate", str(out), "--budgets", str(budgets)]) in (0, 1)
    here = capsys.readouterr().out.replace(str(out), "RUN")
    moved = tmp_path / "elsewhere" / "run"
    shutil.move(str(out), moved)
    assert main(["gate", str(moved), "--budgets", str(budgets)]) in (0, 1)
    there = capsys.readouterr().out.replace(str(moved), "RUN")
    assert here == there and "target_runtime ok" in there and "Traceback" not in there
    assert main(["pick", str(moved), "--budgets", str(budgets)]) == 0


def test_a_results_file_alone_with_a_stale_variant_is_refused_and_bench_drops_stale_records(base, tmp_path, capsys):
    """The README's CI flow keeps results.jsonl as an artifact: a stale variant's records in it must never be
    judged. bench writes only current variants' records; a file that still holds two variants of one recipe is
    refused without its run directory, which alone could say which is current."""
    _, _, out = _copy(base, tmp_path)
    lines = (out / "results.jsonl").read_text().splitlines()
    int8 = [json.loads(line) for line in lines if json.loads(line)["recipe"] == "int8"]
    stale = [json.dumps({**r, "variant": "5ta1e0000000"}) for r in int8]
    (out / "results.jsonl").write_text("\n".join(lines + stale) + "\n")

    alone = tmp_path / "artifact"
    alone.mkdir()
    shutil.copyfile(out / "results.jsonl", alone / "results.jsonl")
    assert main(["gate", str(alone), "--budgets", _generous(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "5ta1e0000000" in err and int8[0]["variant"] in err and "pass the run directory" in err

    assert main(["bench", str(out), "--backends", "xnnpack", "--runs", "3", "--rounds", "1", "--quiet"]) == 0
    kept = {json.loads(line)["variant"] for line in (out / "results.jsonl").read_text().splitlines()}
    assert "5ta1e0000000" not in kept and kept == set(_ids(out))


def test_records_of_another_machine_or_litert_are_measured_again(base, tmp_path, capsys):
    from liteship.bench import BenchOptions, plan_bench

    _, _, out = _copy(base, tmp_path)
    options = BenchOptions(backends=("xnnpack",), runs=5, rounds=2)
    assert all(p.done for p in plan_bench(out, options))  # this machine's records: reused
    lines = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    for change in ({"cpu": "Another CPU"}, {"versions": {**lines[0]["system"]["versions"], "ai-edge-litert": "9.9"}},
                   {"cpu_flags": ["sse2"]}, {"cores": 64}):
        moved = [{**r, "system": {**r["system"], **change}} for r in lines]
        (out / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in moved))
        assert not any(p.done for p in plan_bench(out, options)), change
    (out / "results.jsonl").write_text("".join(json.dumps({**r, "node": "elsewhere"}) + "\n" for r in lines))
    assert not any(p.done for p in plan_bench(out, options))
    # a count made with another valgrind than the one here is counted again
    counted = [{**r, "instructions": {"per_invoke": 5, "tool": {"valgrind": "valgrind-0.1"}}} for r in lines]
    (out / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in counted))
    assert not any(p.done for p in plan_bench(out, options))
