"""The device kit: what a person with a phone needs to measure a run's current variants, written as one folder.

``DIR/models/<model>-<recipe>-<ID>.tflite`` (the variant's ID in the name, so a result traces back to it: the
import matches on it), ``DIR/ios/<name>/benchmark_params.json`` for LiteRT's iOS benchmark app (each key one of
``benchmark_model``'s flags, its values strings as that app's own file has them), ``android_adb.sh`` (LiteRT's
``benchmark_model`` over adb, each model's output saved in ``results/``), ``run_ios_list.sh`` (one run of
litert-samples' ``benchmark/ios/run_ios.sh`` per model), ``kit.json`` (the variants, their files and sha256, and
every file the kit wrote with its sha256) and a README of the round trip. Threads, runs and warm-up are those
liteship measures with (:class:`BenchOptions`): ``num_runs`` is every timed invoke of a bench (runs x rounds).

A kit is replaced whole, so :func:`kit_problems` refuses, before any work, a kit folder holding a file the kit did
not write (the phone's outputs android_adb.sh saved in ``results/``, notes, the benchmark_model binary) or one
changed since, and a variant whose file is missing, is not a regular file (a FIFO, a link into /proc) or is not the
bytes its ``variants/<ID>.json`` records.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import time
from pathlib import Path

from liteship.bench.measure import BenchOptions
from liteship.bench.run import variant_status
from liteship.errors import LiteshipError
from liteship.files import open_regular, read_regular, sha256_file, staged, unreadable_reason
from liteship.rundir import MARKER

DEST = "/data/local/tmp/liteship"  # where the adb script puts the models and the binary on the phone
KIT_JSON = "kit.json"
SCRIPTS = ("README.md", "android_adb.sh", "run_ios_list.sh")
SHOWN = 8  # files a refusal names before "and N more"


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
    run = shlex.quote(str(run_dir))
    return f"""# Device kit for {run_dir.name}

Each of the {len(names)} current variant(s) of `{run_dir}` is in `models/` as `<model>-<recipe>-<ID>.tflite`: keep
the names, since the import finds the variant by the ID in the file name (or pass `--model FILE=VARIANT`).
Measured as liteship measures on this machine: {p['num_threads']} thread(s), {p['warmup_runs']} warm-up runs,
{p['num_runs']} timed runs.

1. Measure on the phone:
   - Android: `BENCHMARK_MODEL=path/to/benchmark_model sh android_adb.sh` (LiteRT's `benchmark_model` over adb;
     the outputs land in `results/`).
   - iOS, litert-samples' app: `sh run_ios_list.sh "My iPhone" path/to/litert-samples/benchmark/ios`; keep the
     session folders it leaves (`results.pb`, `stdout.txt`, `session.json`).
   - iOS, LiteRT's benchmark app: bundle `models/NAME.tflite` with `ios/NAME/benchmark_params.json` and keep what
     it logs to Xcode's console (the `count=... median=...` lines): its screen shows averages only, which the
     import refuses (an average is not a median).
2. Bring the numbers back: `liteship device import {run} results/*.txt --device "Pixel 8"` (or the session
   folders, results.pb, the LiteRT Python tool's JSON). Each becomes a record of `device:<device>`.
3. Gate on the phone's own number: `[budgets]` `backend = "device:pixel-8"`, `max_latency_ms = 8`, then
   `liteship gate {run} --budgets liteship.toml`. p50 is the tool's median; it gives no p90 or p99.

Making the kit again into this folder replaces it whole: liteship refuses while it holds a file the kit did not
write (results/, your notes) or one changed since; move them out first, or make the kit in a new folder.
"""


def write_kit(run_dir: Path, out: Path, options: BenchOptions | None = None) -> Path:
    """Write the kit of ``run_dir``'s current variants into ``out`` (checked: new, empty or a kit liteship wrote
    holding nothing else, :func:`kit_problems`), whole. The README and kit.json name the run by its absolute path."""
    run_dir = Path(os.path.abspath(run_dir))
    variants = variant_status(run_dir)[0]
    if not variants:
        raise LiteshipError(f"{run_dir} has no current variant", "the kit holds the variants to measure",
                            f"run `liteship optimize {run_dir}` first")
    names = {kit_name(v): v for v in variants}
    params = {n: benchmark_params(n, options) for n in names}
    with staged(out) as staging:
        (staging / "models").mkdir()
        for n, v in names.items():
            _copy_model(run_dir, v, staging / "models" / f"{n}.tflite")
            (staging / "ios" / n).mkdir(parents=True)
            (staging / "ios" / n / "benchmark_params.json").write_text(json.dumps(params[n], indent=2) + "\n")
        ordered = sorted(names)
        (staging / "android_adb.sh").write_text(android_script(ordered, params))
        (staging / "run_ios_list.sh").write_text(ios_script(ordered))
        (staging / "README.md").write_text(readme(ordered, params, run_dir))
        written = {p.relative_to(staging).as_posix(): sha256_file(p) for p in sorted(staging.rglob("*")) if p.is_file()}
        (staging / KIT_JSON).write_text(json.dumps({"run_dir": str(run_dir), "variants": [
            {"file": f"models/{n}.tflite", "variant": v["id"], "model": v.get("model"), "recipe": v.get("recipe"),
             "sha256": v.get("sha256")} for n, v in sorted(names.items())], "files": written}, indent=2) + "\n")
        (staging / MARKER).write_text(json.dumps({"made_by": "liteship", "what": "device kit",
                                                  "since": time.time()}) + "\n")
    return out


def _copy_model(run_dir: Path, variant: dict, to: Path) -> None:
    """The variant's file copied as read (a regular file only), refused when its bytes are not the variant's."""
    h = hashlib.sha256()
    with open_regular(run_dir / variant["file"], "Variant file") as src, open(to, "wb") as dst:
        for chunk in iter(lambda: src.read(1 << 20), b""):
            h.update(chunk)
            dst.write(chunk)
    if variant.get("sha256") and h.hexdigest() != variant["sha256"]:
        raise LiteshipError(f"{run_dir / variant['file']} changed while the kit was written",
                            f"its sha256 is no longer the one variants/{variant['id']}.json records",
                            "wait for the command writing the run to finish, then make the kit again")


# ---------------------------------------------------------------------------------- what the kit refuses to touch

def kit_problems(run_dir: Path, out: Path) -> list[tuple[str, str, str, str]]:
    """(flag, value, why, fix) for each reason the kit of ``run_dir`` may not be written into ``out`` (a folder
    the caller found new, empty or marked by liteship): a current variant whose file cannot be copied as the
    variant's own bytes, and a kit folder holding files the kit did not write, or changed since."""
    found = [("RUN_DIR", str(run_dir), why, fix) for why, fix in _variant_files(Path(run_dir))]
    foreign, changed = leftovers(Path(out)) if Path(out).is_dir() else ([], [])
    if foreign or changed:
        said = [f"it holds {_listed(foreign)}, which the kit did not write" if foreign else "",
                f"{_listed(changed)} changed since the kit wrote {'them' if len(changed) > 1 else 'it'}"
                if changed else ""]
        found.append(("--out", str(out), "; ".join(s for s in said if s) + " (kit.json lists what it wrote): "
                      "the kit replaces its folder whole, which would delete or overwrite them",
                      f"move them out of {out} first (the phone's outputs in results/ are what `liteship device "
                      "import` reads), or pass a new folder, e.g. --out device-kit-2"))
    return found


def _listed(paths: list[str]) -> str:
    return ", ".join(paths[:SHOWN]) + (f" and {len(paths) - SHOWN} more" if len(paths) > SHOWN else "")


def _variant_files(run_dir: Path) -> list[tuple[str, str]]:
    out = []
    for v in variant_status(run_dir)[0]:
        path = run_dir / str(v.get("file") or "")
        why = unreadable_reason(path) if v.get("file") else "variants/<ID>.json names no file"
        if why is None and v.get("sha256") and sha256_file(path) != v["sha256"]:
            why = f"its sha256 is not the one variants/{v['id']}.json records: its bytes are not the variant's"
        if why is not None:
            out.append((f"variant {v['id']} ({v.get('model')} {v.get('recipe')}): {path}: {why}, so the kit cannot "
                        "copy it for the phone to measure",
                        f"make the variant again (liteship optimize {run_dir}), or restore its file"))
    return out


def leftovers(out: Path) -> tuple[list[str], list[str]]:
    """(files in the kit folder ``out`` the kit did not write, files it wrote that changed since), as paths
    inside ``out``. What it wrote is kit.json's ``files`` (a kit from before that list: its variants' models and
    parameter files and its scripts); a kit.json that cannot be read proves nothing written, so every file is
    the user's. Empty folders are no one's data and are not listed."""
    written = _written(out)
    foreign, changed = [], []
    for root, dirs, files in os.walk(out):
        here = Path(root)
        links = [d for d in dirs if (here / d).is_symlink()]  # a link to a folder: an entry, never followed
        for name in sorted(files + links):
            rel = (here / name).relative_to(out).as_posix()
            if rel == MARKER or (rel == KIT_JSON and written is not None):
                continue
            if written is None or rel not in written:
                foreign.append(rel)
            elif written[rel] and not (here / name).is_symlink() and _sha(here / name) != written[rel]:
                changed.append(rel)
    return sorted(foreign), sorted(changed)


def _sha(path: Path) -> str | None:
    try:
        return sha256_file(path)
    except (OSError, LiteshipError):
        return None


def _written(out: Path) -> dict[str, str | None] | None:
    """What the kit in ``out`` wrote, path -> sha256 (None: not recorded); None when kit.json cannot be read."""
    try:
        kit = json.loads(read_regular(out / KIT_JSON, "Kit file", limit=64 * 1024**2))
        files, variants = kit.get("files"), kit["variants"]
        if isinstance(files, dict):
            return {str(k): str(v) for k, v in files.items()}
        written = {name: None for name in SCRIPTS}
        for v in variants:
            stem = Path(v["file"]).stem
            written.update({v["file"]: None, f"ios/{stem}/benchmark_params.json": None})
        return written
    except (OSError, ValueError, LiteshipError, KeyError, TypeError, AttributeError):
        return None
