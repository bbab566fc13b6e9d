"""Hypothesis strategies for every input surface, each case labelled by the rules written here.

A case is ``(document, defect)``: ``defect`` is None when the rules below say
the input is valid, else ``(kind, key)``: what was broken and the key or flag
a good message must name. The rules are the documented ones (README,
``--help``), restated independently of liteship's validators.
"""

from __future__ import annotations

import json

from hypothesis import strategies as st

RUN_BACKENDS = ["xnnpack", "xnnpack-cm", "builtin", "reference", "fp16"]
BACKENDS = RUN_BACKENDS + ["gpu", "coreml"]
RECIPES = ["float32", "float16", "dynamic", "int8", "prune_int8", "qat_int8", "pqat_int8", "cluster_int8",
           "selective_int8", "auto_int8"]
MOBILENET_ALPHAS = [0.35, 0.5, 0.75, 1.0, 1.3, 1.4]

# Values of every TOML kind, some huge, negative or in other scripts: the chaos a wrong value is drawn from.
text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
scalars = st.one_of(st.integers(-10**12, 10**12), st.floats(allow_nan=False, allow_infinity=False, width=32),
                    st.booleans(), text)
any_value = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                          st.dictionaries(text, inner, max_size=2)), max_leaves=5)


def _not(kind_check):
    """Chaos values the rule ``kind_check`` rejects."""
    return any_value.filter(lambda v: not kind_check(v))


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def is_str_list(v):
    return isinstance(v, list) and all(isinstance(x, str) for x in v)


def is_int_list(v):
    return isinstance(v, list) and all(is_int(x) for x in v)


# key -> (valid values, a check for the key's *kind*: a chaos value failing it is a wrong type)
BENCH = {
    "backends": (st.lists(st.sampled_from(BACKENDS), min_size=1, max_size=4, unique=True), is_str_list),
    "threads": (st.lists(st.integers(1, 256), min_size=1, max_size=3), is_int_list),
    "runs": (st.integers(1, 100_000), is_int),
    "warmup": (st.integers(0, 10_000), is_int),
    "rounds": (st.integers(1, 1_000), is_int),
    "instructions": (st.booleans(), lambda v: isinstance(v, bool)),
}
TRAIN = {
    "epochs": (st.integers(1, 50), is_int),
    "fine_tune_epochs": (st.integers(1, 50), is_int),
    "seed": (st.integers(0, 2**32 - 1), is_int),
    "batch_size": (st.integers(1, 64), is_int),
}
# Out of range, with the kind right: key -> values the rules forbid.
OUT_OF_RANGE = {
    "threads": st.lists(st.integers(-10**9, 0) | st.integers(257, 10**9), min_size=1, max_size=2) | st.just([]),
    "backends": st.just([]) | st.lists(text.filter(lambda s: s not in BACKENDS), min_size=1, max_size=2),
    "runs": st.integers(-10**12, 0) | st.integers(100_001, 10**12),
    "warmup": st.integers(-10**12, -1) | st.integers(10_001, 10**12),
    "rounds": st.integers(-10**12, 0) | st.integers(1_001, 10**12),
    "epochs": st.integers(-10**12, -1) | st.integers(10_001, 10**12),
    "seed": st.integers(-10**12, -1) | st.integers(2**32, 10**15),
    "batch_size": st.integers(-10**12, 0) | st.integers(4097, 10**12),
}


@st.composite
def valid_model(draw):
    if draw(st.booleans()):
        return {"arch": "small_cnn", "size": draw(st.integers(8, 128))}
    return {"arch": "mobilenet_v2", "alpha": draw(st.sampled_from(MOBILENET_ALPHAS[:4])),
            "size": draw(st.integers(32, 128)), "weights": "none"}


@st.composite
def valid_sweep(draw):
    doc = {"train": {k: draw(v) for k, (v, _) in TRAIN.items() if draw(st.booleans())},
           "models": draw(st.lists(valid_model(), min_size=1, max_size=2,  # two entries of one model: refused
                                   unique_by=lambda m: (m["arch"], m["size"], m.get("alpha"))))}
    doc["train"]["weights"] = "none"
    if draw(st.booleans()):
        doc["optimize"] = {"recipes": draw(st.lists(st.sampled_from(RECIPES), min_size=1, max_size=3, unique=True))}
    if draw(st.booleans()):
        doc["bench"] = {k: draw(v) for k, (v, _) in BENCH.items() if draw(st.booleans())}
    return doc


def _unknown(known):
    """A key no table knows: a prefix no valid key has, then anything (unicode, spaces, quotes)."""
    return text.map(lambda k: "x_" + k).filter(lambda k: k not in known)


def _wrong_type(draw, doc):
    table, specs = draw(st.sampled_from([("train", TRAIN), ("bench", BENCH)]))
    key = draw(st.sampled_from(sorted(specs)))
    value = draw(_not(specs[key][1]))
    if specs[key][1] is is_int and isinstance(value, float) and value.is_integer():
        value = value + 0.5
    doc.setdefault(table, {})[key] = value
    return key


def _out_of_range(draw, doc):
    key = draw(st.sampled_from(sorted(OUT_OF_RANGE)))
    doc.setdefault("bench" if key in BENCH else "train", {})[key] = draw(OUT_OF_RANGE[key])
    return key


def _unknown_key(draw, doc):
    key = draw(_unknown(set(TRAIN) | set(BENCH)))
    doc.setdefault(draw(st.sampled_from(["train", "bench"])), {})[key] = draw(scalars)
    return key


def _unknown_table(draw, doc):
    name = draw(_unknown({"train", "models", "optimize", "bench"}))
    doc[name] = {"x": 1}
    return name


def _array_of_tables(draw, doc):
    doc["train"] = [doc["train"]]
    return "train"


def _no_models(draw, doc):
    doc.pop("models")
    return "models"


def _model_size(draw, doc):
    doc["models"][0] = {"arch": "small_cnn", "size": draw(st.integers(-10**9, 7) | st.integers(1025, 10**9))}
    return "size"


def _model_arch(draw, doc):
    doc["models"][0] = {"arch": draw(text.filter(lambda a: a not in ("small_cnn", "mobilenet_v2")))}
    return "arch"


def _mobilenet_alpha(draw, doc):
    alpha = draw(st.floats(0.01, 3).filter(lambda a: a not in MOBILENET_ALPHAS))
    doc["models"][0] = {"arch": "mobilenet_v2", "alpha": alpha, "size": 96, "weights": "none"}
    return "alpha"


def _recipe_name(draw, doc):
    doc["optimize"] = {"recipes": [draw(text.filter(lambda r: r not in RECIPES and r != "all"))]}
    return "recipes"


def _recipes_as_string(draw, doc):
    doc["optimize"] = {"recipes": draw(st.sampled_from(RECIPES))}
    return "recipes"


def _recipe_table_key(draw, doc):
    key = draw(_unknown(set()))
    doc["optimize"] = {draw(st.sampled_from(["int8", "prune_int8", "qat_int8"])): {key: draw(scalars)}}
    return key


def _table_as_value(draw, doc):
    doc["bench"] = draw(scalars)
    return "bench"


DEFECTS = {f.__name__[1:]: f for f in (_wrong_type, _out_of_range, _unknown_key, _unknown_table, _array_of_tables,
                                       _no_models, _model_size, _model_arch, _mobilenet_alpha, _recipe_name,
                                       _recipes_as_string, _recipe_table_key, _table_as_value)}


@st.composite
def sweep_case(draw):
    """A sweep config and its defect (None: valid)."""
    doc = draw(valid_sweep())
    if draw(st.integers(0, 3)) == 0:
        return doc, None
    kind = draw(st.sampled_from(sorted(DEFECTS)))
    return doc, (kind, DEFECTS[kind](draw, doc))


# Budgets: key -> (valid values, kind check); the rules of README's [budgets] table.
BUDGETS = {
    "max_size_kb": (st.floats(0, 1e6), is_num),
    "max_gzip_kb": (st.floats(0, 1e6), is_num),
    "max_latency_ms": (st.floats(0, 1e4), is_num),
    "max_instructions_m": (st.floats(0, 1e4), is_num),
    "latency_stat": (st.sampled_from(["p50", "p90", "p99"]), lambda v: v in ("p50", "p90", "p99")),
    "backend": (st.sampled_from(RUN_BACKENDS), lambda v: v in RUN_BACKENDS),
    "threads": (st.integers(1, 256), is_int),
    "min_accuracy": (st.floats(0, 1), is_num),
    "max_accuracy_drop": (st.floats(0, 1), is_num),
    "min_agreement": (st.floats(0, 1), is_num),
    "require_contract": (st.booleans(), lambda v: isinstance(v, bool)),
    "require_delegate": (st.sampled_from(["gpu", "coreml"]), lambda v: v in ("gpu", "coreml")),
    "min_delegated": (st.floats(0, 1), is_num),
}
BUDGET_RANGES = {"max_size_kb": st.floats(-1e9, -1e-3), "threads": st.integers(-100, 0) | st.integers(257, 10**6),
                 "min_accuracy": st.floats(1.001, 1e9), "max_accuracy_drop": st.floats(-1e6, -1e-3) |
                 st.floats(1.001, 1e6), "min_agreement": st.floats(-10, -0.001), "min_delegated": st.floats(1.01, 5)}


@st.composite
def budgets_case(draw):
    table = {k: draw(v) for k, (v, _) in BUDGETS.items() if draw(st.booleans())}
    roll = draw(st.integers(0, 4))
    if roll == 0:
        return table, None
    if roll == 1:
        key = draw(st.sampled_from(sorted(BUDGETS)))
        value = draw(_not(BUDGETS[key][1]))
        if is_num(value) and BUDGETS[key][1] in (is_num, is_int):
            value = str(value)
        table[key] = value
        return table, ("wrong_type", key)
    if roll == 2:
        key = draw(st.sampled_from(sorted(BUDGET_RANGES)))
        table[key] = draw(BUDGET_RANGES[key])
        return table, ("out_of_range", key)
    if roll == 3:
        key = draw(_unknown(set(BUDGETS)))
        table[key] = draw(scalars)
        return table, ("unknown_key", key)
    return draw(scalars), ("table_as_value", "budgets")


# CLI flags of `train` and `bench`: flag -> (valid words, invalid words).
def _words(values):
    return st.sampled_from(values) if isinstance(values, list) else values


TRAIN_FLAGS = {
    "--epochs": (st.integers(1, 50).map(str), st.sampled_from(["-1", "many", "1.5", ""]) |
                 st.integers(10_001, 10**12).map(str)),
    "--batch-size": (st.integers(1, 64).map(str), st.sampled_from(["0", "-3", "x", "4097", "1e3"])),
    "--seed": (st.integers(0, 10**6).map(str), st.sampled_from(["-1", "seed", "4294967296"])),
    "--size": (st.integers(8, 128).map(str), st.sampled_from(["0", "-32", "big", "100000", "7"])),
}
BENCH_FLAGS = {
    "--threads": (st.lists(st.integers(1, 8), min_size=1, max_size=3).map(lambda v: ",".join(map(str, v))),
                  st.sampled_from(["0", "1,,2", "x", "-1", "257", ""])),
    "--runs": (st.integers(1, 100).map(str), st.sampled_from(["0", "-5", "lots", "100001"])),
    "--warmup": (st.integers(0, 10).map(str), st.sampled_from(["-1", "w"])),
    "--rounds": (st.integers(1, 10).map(str), st.sampled_from(["0", "1001", "r"])),
    "--backends": (st.lists(st.sampled_from(BACKENDS), min_size=1, max_size=3, unique=True).map(",".join),
                   text.filter(lambda t: t.strip() != "all" and not t.startswith("-") and any(
                       n.strip() and n.strip() not in BACKENDS for n in t.split(",")))),
}


@st.composite
def cli_case(draw):
    """(command, flags, defect): defect is (kind, flag) or None."""
    command, flags = draw(st.sampled_from([("train", TRAIN_FLAGS), ("bench", BENCH_FLAGS)]))
    chosen = draw(st.lists(st.sampled_from(sorted(flags)), unique=True, max_size=len(flags)))
    argv, defect = [], None
    bad = draw(st.sampled_from([None, *chosen])) if chosen else None
    for flag in chosen:
        good, wrong = flags[flag]
        argv += [flag, draw(wrong if flag == bad else good)]
        if flag == bad:
            defect = ("bad_value", flag)
    return command, argv, defect


# results.jsonl lines: a real record, then damaged in one known way.
@st.composite
def results_case(draw, record: dict):
    lines = [json.dumps(record)]
    roll = draw(st.integers(0, 5))
    if roll == 0:
        return lines, None
    if roll == 1:
        lines.append(draw(any_value.map(lambda v: json.dumps(v) if not isinstance(v, dict) else "[1]")))
        return lines, ("not_an_object", "line 2")
    if roll == 2:
        key = draw(st.sampled_from(["variant", "backend", "size_bytes", "kind", "status", "runtime"]))
        lines.append(json.dumps({k: v for k, v in record.items() if k != key}))
        return lines, ("missing_key", key)
    if roll == 3:
        key, check = draw(st.sampled_from([("size_bytes", is_int), ("top1", is_num), ("notes", is_str_list),
                                           ("variant", lambda v: isinstance(v, str)), ("latency_ms", lambda v: v is None)]))
        lines.append(json.dumps({**record, key: draw(_not(check))}))
        return lines, ("wrong_type", key)
    if roll == 4:
        lines.append(draw(text.filter(lambda t: t.strip() and "\n" not in t and not _is_json(t))))  # one line
        return lines, ("not_json", "line 2")
    extra = draw(text.filter(lambda k: k not in record))
    lines.append(json.dumps({**record, extra: draw(scalars)}))  # unknown keys are allowed: a newer liteship
    return lines, None


def _is_json(t: str) -> bool:
    try:
        json.loads(t)
        return True
    except ValueError:
        return False


# Recipe tables (optimize --config): recipe -> key -> (valid values, kind check), as `liteship optimize --list`.
IO = ["uint8", "int8", "float"]
RECIPE_KEYS = {
    "int8": {"io": (st.sampled_from(IO), lambda v: v in IO), "calibration_images": (st.integers(1, 1000), is_int)},
    "qat_int8": {"epochs": (st.integers(0, 20), is_int), "learning_rate": (st.floats(0, 1), is_num)},
    "prune_int8": {"target_sparsity": (st.floats(0, 0.99), is_num), "epochs": (st.integers(0, 20), is_int),
                   "prune_steps": (st.integers(1, 100), is_int)},
    "auto_int8": {"max_accuracy_drop": (st.floats(0, 1), is_num),
                  "judge_by": (st.sampled_from(["interval", "point"]), lambda v: v in ("interval", "point"))},
}
RECIPE_RANGES = {"calibration_images": st.integers(-10**9, 0), "target_sparsity": st.floats(0.995, 1e6),
                 "epochs": st.integers(-10**9, -1), "learning_rate": st.floats(-1e3, -1e-6) | st.floats(1.01, 1e3),
                 "prune_steps": st.integers(-10**6, 0)}


@st.composite
def recipe_case(draw):
    """(config document, --recipes names, defect)."""
    names = draw(st.lists(st.sampled_from(sorted(RECIPE_KEYS)), min_size=1, max_size=3, unique=True))
    doc = {n: {k: draw(v) for k, (v, _) in RECIPE_KEYS[n].items() if draw(st.booleans())} for n in names}
    roll = draw(st.integers(0, 5))
    if roll == 0:
        return doc, names, None
    recipe = draw(st.sampled_from(names))
    if roll == 1:
        key = draw(st.sampled_from(sorted(RECIPE_KEYS[recipe])))
        value = draw(_not(RECIPE_KEYS[recipe][key][1]))
        doc[recipe][key] = str(value) if is_num(value) and RECIPE_KEYS[recipe][key][1] in (is_num, is_int) else value
        return doc, names, ("wrong_type", key)
    if roll == 2:
        key = draw(st.sampled_from(sorted(k for k in RECIPE_RANGES if k in RECIPE_KEYS[recipe])
                                   or ["calibration_images"]))
        doc.setdefault(recipe, {})[key] = draw(RECIPE_RANGES[key])
        return doc, names, ("out_of_range", key)
    if roll == 3:
        key = draw(_unknown(set()))
        doc[recipe][key] = draw(scalars)
        return doc, names, ("unknown_key", key)
    if roll == 4:
        table = draw(_unknown(set()))
        doc[table] = {"io": "uint8"}
        return doc, names, ("unknown_recipe_table", table)
    bad = draw(_unknown(set()).filter(lambda n: "," not in n and n.strip() == n and n))
    return doc, [*names, bad], ("unknown_recipe", bad)


# Output paths against the command's inputs (issue 32). What gate and compare read is written here from the README:
# gate reads RUN_DIR (its results.jsonl) and --budgets; compare reads BASE, NEW and --thresholds; a run directory is
# read as a whole, with the data folder it was made from. An output reaching any of these is a defect.
OUTPUT_FLAGS = {"gate": ("--junit", "--markdown"), "compare": ("--json", "--markdown")}
INPUT_PATHS = {"gate": ["base/results.jsonl", "budgets", "base/report.md", "base/new.out", "base/data/split.json",
                        "data/a/img0.png", "data/b/new.png"],
               "compare": ["base/results.jsonl", "new/results.jsonl", "thresholds", "new/report.md", "new/x/y.out",
                           "data/a/img1.png"]}
WAYS = ["same", "symlink", "hardlink", "linked-folder", "dotdot", "link-chain"]
APART_PATHS = ["out/new.out", "out/../out/new2.out", "own.txt", "-"]  # the user's own file: theirs to overwrite


@st.composite
def alias_case(draw):
    """(command, flag, world path, way, defect): an output aimed at an input (defect ("alias", flag)) or apart."""
    command = draw(st.sampled_from(sorted(OUTPUT_FLAGS)))
    flag = draw(st.sampled_from(OUTPUT_FLAGS[command]))
    if draw(st.booleans()):
        return command, flag, draw(st.sampled_from(INPUT_PATHS[command])), draw(st.sampled_from(WAYS)), ("alias", flag)
    return command, flag, draw(st.sampled_from(APART_PATHS)), draw(st.sampled_from(["same", "symlink"])), None


# Links planted in a run directory: (name in the run directory, what it points at). The output is the user's own
# file: a defect exactly when a link of the run directory reaches it (writing it would change what the run holds).
LINK_TARGETS = ["own.txt", "nowhere", "/", "out", "loop", "data/a/img0.png"]


@st.composite
def linked_run_case(draw):
    """(links [(name, target)], defect): a run directory holding links, the output aimed at the user's own.txt."""
    names = draw(st.lists(st.sampled_from(["notes.md", "logs", "float", "extra.txt", "mlflow.db"]), min_size=1,
                          max_size=3, unique=True))
    links = [(name, draw(st.sampled_from(LINK_TARGETS))) for name in names]
    return links, (("alias", "--junit") if any(t == "own.txt" for _, t in links) else None)
