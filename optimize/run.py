"""Optimize a run directory: every float model x every recipe -> variants/ID.tflite + ID.json.

Content-addressed: ID hashes the float model, the recipe, its resolved config
and the tool versions, so a re-run skips variants whose files exist and match,
and a changed config makes a new variant instead of overwriting an old one.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
import gzip
import hashlib
import json
import time
import traceback
from pathlib import Path

from liteship.config import Problem, Problems, check_mapping, load_toml
from liteship.config import describe as said
from liteship.dataset import load_run_split
from liteship.errors import LiteshipError
from liteship.rundir import CARD, FLOAT, MODEL_KERAS, VARIANTS, read_card, update_current, writing
from liteship.trainer import Augmentation, op_determinism
from liteship.versions import VARIANT_DISTS, versions
from liteship import task_api
from liteship.files import atomic_write_bytes, atomic_write_json, read_regular, sha256_bytes, sha256_file
from liteship.progress import Progress

from liteship.optimize.convert import converter_maker
from liteship.optimize.quantizer import metadata_refusal
from liteship.optimize.registry import RecipeData, get_recipe, list_recipes
from liteship.tflite_file import io_specs, read_model, weight_sparsity


def recipe_configs(names: list[str], tables: dict, where: str, prefix: str = "") -> dict[str, object]:
    """Each named recipe's config: its defaults, overridden by its table in ``tables`` (``[<prefix><recipe>]`` in
    the file ``where``); a table naming no recipe is a problem too; every problem raised at once."""
    valid = [r.name for r in list_recipes()]
    problems = [Problem(where, f"[{prefix}{name}]", said(tables[name]), "there is no recipe of that name; the "
                        "tables are recipe names: " + ", ".join(valid), "rename or remove the table")
                for name in sorted(set(tables) - set(valid))]
    configs = {}
    for name in names:
        built = check_mapping(get_recipe(name).config_cls, tables.get(name, {}), f"{where} [{prefix}{name}]", problems)
        if built is not None:
            configs[name] = built
    if problems:
        raise Problems(problems)
    return configs


def resolve_configs(names: list[str], config_file: str | Path | None) -> dict[str, object]:
    """Each recipe's config: its defaults, overridden by the TOML table of its name in ``config_file``."""
    return recipe_configs(names, load_toml(config_file) if config_file else {}, str(config_file or "config"))


def with_defaults(names: list[str], configs: dict | None) -> dict[str, object]:
    """Each named recipe's typed config: the one given, else its config class's defaults."""
    configs = configs or {}
    return {n: configs[n] if n in configs else get_recipe(n).config_cls() for n in names}


def parse_recipes(text: str | list[str] | tuple | None, where: tuple[str, str | None] = ("--recipes", None)) -> list[str]:
    """Recipe names from "all", "int8,prune_int8" or a list; ``where`` names the flag or config key they came from."""
    names = [n.strip() for n in text.split(",")] if isinstance(text, str) else list(text or ["all"])
    if names == ["all"]:
        return [r.name for r in list_recipes()]
    valid = [r.name for r in list_recipes()]
    unknown = [n for n in names if n not in valid]
    if unknown or not names:
        raise Problems([Problem(*where, said(", ".join(names)), (f"{', '.join(unknown)}: no such "
                                "recipe; " if unknown else "") + "recipes: all, " + ", ".join(valid),
                                "pick names from `liteship optimize --list`, separated by commas")])
    return names


def variant_id(source_sha: str, name: str, config, tool_versions: dict, data_hash: str | None = None) -> str:
    """Content address of a variant: float weights, the data it was calibrated and tuned on, recipe, config, versions."""
    key = json.dumps({"source": source_sha, "data": data_hash, "recipe": name, "config": dataclasses.asdict(config),
                      "versions": tool_versions}, sort_keys=True)
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def describe(tflite: bytes) -> dict:
    """Facts measured from the written bytes, never taken from the config."""
    model = read_model(tflite)
    inputs, outputs = io_specs(model)
    sparsity = weight_sparsity(model)
    return {
        "sha256": sha256_bytes(tflite),
        "size_bytes": len(tflite),
        "gzip_bytes": len(gzip.compress(tflite, 9, mtime=0)),
        "sparsity": sparsity["sparsity"],
        "sparsity_by_op": sparsity["by_op"],
        "weights": sparsity["weights"],
        "inputs": [dataclasses.asdict(s) for s in inputs],
        "outputs": [dataclasses.asdict(s) for s in outputs],
    }


def run_recipe(name: str, model, data: RecipeData, config=None) -> tuple[bytes, dict]:
    """One recipe on one float model: the .tflite bytes and its record (without run-directory facts)."""
    spec = get_recipe(name)
    config = config if config is not None else spec.config_cls()
    started = time.perf_counter()
    import tf_keras as keras

    # Layer names a recipe makes (tfmot's "quantize_layer", ...) come from a per-process counter, and the converter
    # writes them into the file: reset, a variant has the same bytes whatever ran before it in this process.
    keras.backend.reset_uids()
    with op_determinism(False):  # conversion output depends on the switch; fine-tuning turns it on if asked
        output = spec.run(model, data, config)
    record = {"recipe": name, "config": dataclasses.asdict(config), **describe(output.tflite),
              "float_layers": output.extra.get("float_layers", []),
              "details": {"maker": converter_maker(), **output.extra},  # a recipe made by another tool says so
              "seconds": round(time.perf_counter() - started, 2)}
    return output.tflite, record


def made_variant(variants: Path, vid: str) -> dict | None:
    """The record of variant ``vid`` if it was made and its .tflite still matches; None otherwise: a cache, so a
    record that cannot be read as one (damaged, not UTF-8, not a JSON object) is made again, never exit 2."""
    rec_path, tfl_path = variants / f"{vid}.json", variants / f"{vid}.tflite"
    if not (rec_path.is_file() and tfl_path.is_file()):
        return None
    try:
        record = json.loads(read_regular(rec_path, "Variant record"))  # never a FIFO or a link to /proc/kmsg
    except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested too deep
        return None
    if not isinstance(record, dict):
        return None
    if record.get("status") == "ok" and record.get("sha256") == sha256_file(tfl_path):
        return record
    return None


def source_hash(model_dir: Path, card: dict) -> str:
    """What identifies a float model in its variants' IDs: its weights, else its file (older cards)."""
    return card.get("weights_sha256") or card.get("model_sha256") or sha256_file(model_dir / MODEL_KERAS)


def float_models(run_dir: Path) -> list[Path]:
    models = sorted(p for p in (run_dir / FLOAT).glob("*") if (p / MODEL_KERAS).is_file() and (p / CARD).is_file())
    if not models:
        raise LiteshipError(f"No float model in {run_dir / FLOAT}", "optimize starts from a trained float model",
                            f"run `liteship train --data ... --out {run_dir}` first")
    return models


@dataclass(frozen=True)
class PlannedVariant:
    """One (float model, recipe) variant: its content-addressed ID, and its record if it is already made."""

    model: str
    recipe: str
    id: str
    made: dict | None


def tool_versions() -> dict:
    """The tools a variant is made with: the training stack, LiteRT Quantizer and the MediaPipe metadata writer
    (None: none)."""
    return {**versions(VARIANT_DISTS), "metadata-writer": task_api.version()}


def plan_variants(run_dir: Path, names: list[str], configs: dict, models: list[str] | None = None) -> list[PlannedVariant]:
    """Every (float model, recipe) variant with its ID and whether it is made: the one skip check of optimize."""
    made_with = tool_versions()
    planned = []
    for model_dir in float_models(run_dir):
        if models is not None and model_dir.name not in models:
            continue
        card = read_card(model_dir)
        source_sha = source_hash(model_dir, card)
        for name in names:
            vid = variant_id(source_sha, name, configs[name], made_with, card.get("data", {}).get("content_hash"))
            planned.append(PlannedVariant(model_dir.name, name, vid, made_variant(run_dir / VARIANTS, vid)))
    return planned


def optimize_run(run_dir: str | Path, recipes=None, configs: dict | None = None, progress: Progress | None = None,
                 models: list[str] | None = None, on_variant=None, deterministic: bool = False,
                 datasets: dict | None = None) -> list[dict]:
    """Make every (float model, recipe) variant that is not already made; return all records.

    ``configs``: typed recipe configs by recipe name (:func:`resolve_configs` reads them from a file); a recipe
    without one gets its defaults.
    ``models`` limits the run to those float-model folders; ``on_variant(record, skipped)``
    is called as each variant is made or found; ``deterministic`` turns on TensorFlow's
    op determinism while recipes fine-tune (the same variant from the same model in any process).
    ``datasets``: the data read already in this command, by input size (a sweep's), so no image is read again.
    """
    progress = progress or Progress()
    run_dir = Path(run_dir)
    names = parse_recipes(recipes)
    configs = with_defaults(names, configs)
    with writing(run_dir, "optimize"):  # a run liteship made, held while it is written
        records = []
        report = on_variant or (lambda record, skipped: None)
        todo: dict[str, list[PlannedVariant]] = {}
        planned = plan_variants(run_dir, names, configs, models)
        update_current(run_dir, [(pv.model, pv.recipe, pv.id) for pv in planned])
        for pv in planned:
            if pv.made:
                progress.log(f"{pv.model} {pv.recipe}: {pv.id} already made, skipped")
                records.append(pv.made)
                report(pv.made, True)
            else:
                todo.setdefault(pv.model, []).append(pv)
        for model_name, pending in todo.items():
            model_dir = run_dir / FLOAT / model_name
            card = read_card(model_dir)
            base = {"model": model_name, "arch": card["arch"], "alpha": card["config"].get("alpha"),
                    "size": card["config"]["size"], "classes": len(card["classes"]),
                    "source_sha256": source_hash(model_dir, card), "versions": versions(VARIANT_DISTS)}
            model, data = _load(model_dir, card, run_dir, deterministic, datasets, progress)
            with task_api.Worker() as worker:
                meta = MetadataFor(worker, list(card["classes"]))
                for pv in pending:
                    record = _make_variant(run_dir, {**base, "id": pv.id}, pv.recipe, configs[pv.recipe], model, data,
                                           progress, meta)
                    records.append(record)
                    report(record, False)
        return records


@dataclass(frozen=True)
class MetadataFor:
    """What a variant's TFLite metadata is written with: the MediaPipe worker and the model's class names."""

    worker: task_api.Worker
    labels: list[str]


def _with_metadata(tflite: bytes, base: dict, name: str, meta: MetadataFor | None) -> tuple[bytes, dict | None]:
    """The variant's bytes with TFLite metadata when the MediaPipe environment is installed, and what was written."""
    if meta is None or not task_api.installed():
        return tflite, None
    refused = metadata_refusal(tflite)
    if refused:  # the writer would damage it
        return tflite, {"skipped": refused}
    dtype = io_specs(read_model(tflite))[0][0].dtype
    out = task_api.add_metadata(meta.worker, tflite, meta.labels, f"{base['model']} {name}",
                                f"liteship {versions(('liteship',)).get('liteship')}: {base['model']} {name}, "
                                f"variant {base['id']}", base["id"], str(dtype))
    mean, std = task_api.normalization(str(dtype))
    return out, {"writer": f"mediapipe {task_api.VERSION}", "bytes_added": len(out) - len(tflite), "name":
                 f"{base['model']} {name}", "version": base["id"], "norm_mean": mean, "norm_std": std,
                 "labels_file": "labels.txt"}


def _make_variant(run_dir: Path, base: dict, name: str, config, model, data, progress: Progress,
                  meta: MetadataFor | None = None) -> dict:
    """Run one recipe and write variants/ID.tflite, then ID.json (the record last); a failure is recorded too."""
    vid, variants = base["id"], run_dir / VARIANTS
    progress.log(f"{base['model']} {name}: making {vid} ...")
    try:
        tflite, record = run_recipe(name, model, data, config)
        tflite, written = _with_metadata(tflite, base, name, meta)
        if written is not None:  # the facts of the bytes that ship
            record = {**record, **describe(tflite)}
        record["metadata"] = written
    except Exception as exc:  # one failing recipe must not stop the others
        record = {**base, "recipe": name, "config": dataclasses.asdict(config), "status": "failed",
                  "error": f"{type(exc).__name__}: {exc}".strip()[:2000], "traceback": traceback.format_exc(limit=8)}
        atomic_write_json(variants / f"{vid}.json", record)
        progress.log(f"{base['model']} {name}: FAILED: {record['error'][:300]}")
        return record
    atomic_write_bytes(variants / f"{vid}.tflite", tflite)
    record = {**base, **record, "status": "ok", "file": f"{VARIANTS}/{vid}.tflite"}
    atomic_write_json(variants / f"{vid}.json", record)
    progress.log(f"{base['model']} {name}: {vid} {record['size_bytes']} B, gzip {record['gzip_bytes']} B, "
                 f"sparsity {record['sparsity']:.3f} ({record['seconds']:.1f} s)")
    return record


def _load(model_dir: Path, card: dict, run_dir: Path, deterministic: bool = False, datasets: dict | None = None,
          progress: Progress | None = None):
    import tf_keras as keras

    keras.backend.clear_session()
    model = keras.models.load_model(model_dir / MODEL_KERAS, compile=False)
    size = card["config"]["size"]
    splits = load_run_split(run_dir, size, model_dir.name, progress, (datasets or {}).get(size))  # as it trained
    data = RecipeData(*splits["train"], *splits["val"], seed=card["config"]["seed"],
                      batch_size=card["config"]["batch_size"], deterministic=deterministic,
                      augmentation=Augmentation.from_record(card.get("augment")))  # as the float model trained
    return model, data
