"""The device kit: what a person with a phone needs to measure a run's current variants, written as one folder.

``DIR/models/<model>-<recipe>-<ID>.tflite`` (the variant's ID in the name, so a result traces back to it: the
import matches on it), ``DIR/ios/<name>/benchmark_params.json`` for LiteRT's iOS benchmark app (each key one of
``benchmark_model``'s flags, its values strings as that app's own file has them), ``android_adb.sh`` (LiteRT's
``benchmark_model`` over adb, each model's output saved in ``results/``), ``run_ios_list.sh`` (one run of
litert-samples' ``benchmark/ios/run_ios.sh`` per model), ``kit.json`` (the variants, their files and sha256) and a
README of the round trip. Threads, runs and warm-up are those liteship measures with (:class:`BenchOptions`):
``num_runs`` is every timed invoke of a bench (runs x rounds).
"""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

from liteship.bench.measure import BenchOptions
from liteship.bench.run import variant_status
from liteship.errors import LiteshipError
from liteship.files import staged
from liteship.rundir import MARKER

DEST = "/data/local/tmp/liteship"  # where the adb script puts the models and the binary on the phone


def kit_name(variant: dict) -> str:
    """``<model>-<recipe>-<ID>``: the file name a device measures, the variant ID last."""
    def part(s) -> str:
        return re.sub(r"[^A-Za-z0-9_.]+", "_", str(s or "model")).strip("._") or "model"
    return f"{part(variant.get('model'))}-{part(variant.get('recipe'))}-{variant['id']}"


def benchmark_params(name: str, options: BenchOptions | None = None) -> dict:
    """The iOS benchmark app's ``benchmark_params.json``: benchmark_model's flags, values as text."""
    o = options or BenchOptions()
    return {"benchmark_name": name, "graph": f"{name}.tflite", "num_threads": str(o.threads[0]),
            "num_runs": str(o.runs * o.rounds), "warmup_runs": str(o.warmup)}


def _flags(params: dict, graph: str) -> str:
    return " ".join(f"--{k}={graph if k == 'graph' else v}" for k, v in params.items() if k != "benchmark_name")


def android_script(names: list[str], params: dict[str, dict]) -> str:
    runs = "\n".join(f'adb push "models/{n}.tflite" "$DEST/{n}.tflite"\n'
                     f'adb shell "$DEST/benchmark_model {_flags(params[n], f"$DEST/{n}.tflite")}" '
                     f'> "results/{n}.txt" 2>&1' for n in names)
    return f"""#!/bin/sh
# LiteRT's benchmark_model on an Android phone over adb, one run per model; each output lands in results/NAME.txt.
# BENCHMARK_MODEL: the android_aarch64 benchmark_model binary (LiteRT's releases or a bazel build).
# Then: liteship device import RUN_DIR results/*.txt --device "PHONE NAME"
set -eu
cd "$(dirname "$0")"
BENCHMARK_MODEL=${{BENCHMARK_MODEL:-./benchmark_model}}
DEST={DEST}
mkdir -p results
adb shell mkdir -p "$DEST"
adb push "$BENCHMARK_MODEL" "$DEST/benchmark_model"
adb shell chmod +x "$DEST/benchmark_model"
{runs}
"""


def ios_script(names: list[str]) -> str:
    runs = "\n".join(f'./run_ios.sh "$PHONE" "$KIT/models/{n}.tflite"' for n in names)
    return f"""#!/bin/sh
# litert-samples' iOS benchmark app, one run per model: sh run_ios_list.sh "My iPhone" PATH/TO/litert-samples/benchmark/ios
# run_ios.sh (devicectl) leaves a session folder per run; import them with
#   liteship device import RUN_DIR SESSION_FOLDER... --device "iPhone 13"
# run_ios.sh uses its own settings; ios/NAME/benchmark_params.json holds the ones liteship measures with.
set -eu
PHONE=$1
KIT=$(cd "$(dirname "$0")" && pwd)
cd "$2"
{runs}
"""


def readme(names: list[str], params: dict, run_dir: Path) -> str:
    first = names[0]
    p = params[first]
    return f"""# Device kit for {run_dir.name}

Each of the {len(names)} current variant(s) of `{run_dir}` is in `models/` as `<model>-<recipe>-<ID>.tflite`: keep
the names, since the import finds the variant by the ID in the file name (or pass `--model FILE=VARIANT`).
Measured as liteship measures on this machine: {p['num_threads']} thread(s), {p['warmup_runs']} warm-up runs,
{p['num_runs']} timed runs.

1. Measure on the phone:
   - Android: `BENCHMARK_MODEL=path/to/benchmark_model sh android_adb.sh` (LiteRT's `benchmark_model` over adb;
     the outputs land in `results/`).
   - iOS, LiteRT's benchmark app: bundle `models/NAME.tflite` with `ios/NAME/benchmark_params.json` and copy the
     app's output; or litert-samples' app: `sh run_ios_list.sh "My iPhone" path/to/litert-samples/benchmark/ios`.
2. Bring the numbers back: `liteship device import {run_dir} results/*.txt --device "Pixel 8"` (or the session
   folders, results.pb, the LiteRT Python tool's JSON). Each becomes a record of `device:<device>`.
3. Gate on the phone's own number: `[budgets]` `backend = "device:pixel-8"`, `max_latency_ms = 8`, then
   `liteship gate {run_dir} --budgets liteship.toml`. p50 is the tool's median; it gives no p90 or p99.
"""


def write_kit(run_dir: Path, out: Path, options: BenchOptions | None = None) -> Path:
    """Write the kit of ``run_dir``'s current variants into ``out`` (checked: new, empty or liteship's), whole."""
    variants = variant_status(run_dir)[0]
    if not variants:
        raise LiteshipError(f"{run_dir} has no current variant", "the kit holds the variants to measure",
                            f"run `liteship optimize {run_dir}` first")
    names = {kit_name(v): v for v in variants}
    params = {n: benchmark_params(n, options) for n in names}
    with staged(out) as staging:
        (staging / "models").mkdir()
        for n, v in names.items():
            shutil.copyfile(run_dir / v["file"], staging / "models" / f"{n}.tflite")
            (staging / "ios" / n).mkdir(parents=True)
            (staging / "ios" / n / "benchmark_params.json").write_text(json.dumps(params[n], indent=2) + "\n")
        ordered = sorted(names)
        (staging / "android_adb.sh").write_text(android_script(ordered, params))
        (staging / "run_ios_list.sh").write_text(ios_script(ordered))
        (staging / "README.md").write_text(readme(ordered, params, run_dir))
        (staging / "kit.json").write_text(json.dumps({"run_dir": str(run_dir), "variants": [
            {"file": f"models/{n}.tflite", "variant": v["id"], "model": v.get("model"), "recipe": v.get("recipe"),
             "sha256": v.get("sha256")} for n, v in sorted(names.items())]}, indent=2) + "\n")
        (staging / MARKER).write_text(json.dumps({"made_by": "liteship", "what": "device kit",
                                                  "since": time.time()}) + "\n")
    return out
