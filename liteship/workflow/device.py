"""``liteship device import``, ``device predict`` and ``device kit``: their checks (every problem at once, nothing
written) and their work, reached through :func:`liteship.workflow.execute.execute` like every command's.

Import reads and matches every measurement in the checks, so a file that cannot be read, a measurement that
matches no current variant, or two measurements of one record refuse the whole import before results.jsonl is
touched. The work is then one write, under the run directory's lock (:func:`liteship.bench.refresh_predictions`
with the records as ``adding``): the records the checks made are merged with results.jsonl in memory, the
device's variants not measured are predicted from the merged records, and both are written together, the device's
old predictions replaced; an interruption leaves results.jsonl as it was or whole, never a variant measured beside
its old prediction. ``device predict`` predicts (and writes) the same way with nothing to merge, as after new
counts. The kit is staged whole and then put in place (:func:`liteship.files.staged`).
"""

from __future__ import annotations

import os
from pathlib import Path

from liteship.config import Problem, describe
from liteship.workflow.validate import collect, inside, run_dir_problems, text

MISSING_DEVICE = "name the device the measurements were made on"


def model_pairs(models, found: list[Problem]) -> dict[str, str]:
    """--model FILE=VARIANT, or a dict FILE -> VARIANT from Python: each FILE and VARIANT text, each FILE given
    one variant (twice with two is a contradiction, never the last one kept)."""
    if models is None:
        return {}
    if isinstance(models, dict):
        pairs = [(k, v, f"{k!r}: {v!r}") for k, v in models.items()]
    elif isinstance(models, (str, list, tuple)):
        pairs = [(*_split(p), p) for p in ([models] if isinstance(models, str) else models)]
    else:
        found.append(Problem("--model", None, describe(models), "it takes FILE=VARIANT pairs",
                             "for example --model mobilenet.tflite=0570e9475661"))
        return {}
    out: dict[str, str] = {}
    for file, variant, given in pairs:
        if not (isinstance(file, str) and isinstance(variant, str) and file.strip() and variant.strip()):
            found.append(Problem("--model", None, describe(given), "it takes FILE=VARIANT, each a name (text): the "
                                 "model file a measurement names, and the ID of the variant it is",
                                 "for example --model mobilenet.tflite=0570e9475661"))
        elif out.get(file.strip(), variant.strip()) != variant.strip():
            found.append(Problem("--model", None, describe(given), f"it names {file.strip()} again, which an earlier "
                                 f"--model gave the variant {out[file.strip()]}: one file is of one variant",
                                 f"keep the one pair that is right for {file.strip()}"))
        else:
            out[file.strip()] = variant.strip()
    return out


def _split(pair) -> tuple:
    file, sep, variant = pair.partition("=") if isinstance(pair, str) else (None, "", None)
    return (file, variant) if sep else (None, None)


def _run_problems(run_dir: str | None, writes: bool) -> list[Problem]:
    from liteship.rundir import VARIANTS

    if not run_dir:
        return [Problem("RUN_DIR", None, "missing", "the run directory whose variants were measured",
                        "for example runs/demo")]
    found = run_dir_problems(run_dir, needs="", writes=writes)
    if not found and not (Path(run_dir) / VARIANTS).is_dir():
        found.append(Problem("RUN_DIR", None, describe(run_dir), "it has no variants/",
                             f"run `liteship optimize {run_dir}` first"))
    return found


def import_checks(request) -> tuple[list[Problem], tuple]:
    """Problems, and the records to merge (made here, once, from what was read)."""
    from liteship.bench import import_records

    run_dir, device = text(request.run_dir), request.device
    found = _run_problems(run_dir, writes=True)
    if not isinstance(device, str) or not device.strip():
        found.append(Problem("--device", None, describe(device) if device else "missing", MISSING_DEVICE,
                             'for example --device "iPhone 13"'))
    if not request.files:
        found.append(Problem("FILE", None, "missing", "the benchmark tool's output to import",
                             "pass benchmark_model's stdout, results.pb, a leaderboard row or a session folder"))
    found += [Problem("FILE", None, describe(f) if not isinstance(f, bytes) else repr(f), "it takes the path of a "
                      "file or session folder, as text or a pathlib.Path", "pass the path the benchmark tool's "
                      "output is at") for f in request.files if not _is_path(f)]
    models = model_pairs(request.model, found)
    found += chip_problems(request.chip)
    threads = request.threads
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or not 1 <= threads <= 1024):
        found.append(Problem("--threads", None, describe(threads), "it takes a whole number from 1 to 1024",
                             "for example --threads 1"))
    if found:
        return found, ()
    made = collect(found, import_records, Path(run_dir), [text(f) for f in request.files], device.strip(),
                   request.chip, models, request.threads)
    records, refused = made or ([], [])
    found += [Problem(r.where, None, "", f"{r.what}: {r.why}" if r.why else r.what, r.fix) for r in refused]
    if not refused:  # a --chip the device's name, identifier or records contradict: said with the rest, before work
        from liteship.bench import chip_contradictions

        found += chip_contradictions(Path(run_dir), device.strip(), request.chip, records)
    return found, tuple(records)


def _is_path(value) -> bool:
    return isinstance(value, str) or (isinstance(value, os.PathLike) and isinstance(os.fspath(value), str))


def chip_problems(chip) -> list[Problem]:
    """--chip: a chip liteship knows, or an ISA class (nothing: the chip is read from the sources)."""
    from liteship.bench import chip_named, chips_taken

    if chip is None or chip_named(chip) is not None:
        return []
    return [Problem("--chip", None, describe(chip), f"it takes {chips_taken()}",
                    "for example --chip A15; for a chip not listed, the ISA class it has (--chip neon-i8mm)")]


def predict_checks(request) -> list[Problem]:
    """``device predict``: a run with device measurements (of ``--device``, when named) and a chip it knows."""
    from liteship.bench import measured_records, read_results

    run_dir, device = text(request.run_dir), request.device
    found = _run_problems(run_dir, writes=True) + chip_problems(request.chip)
    if device is not None and (not isinstance(device, str) or not device.strip()):
        found.append(Problem("--device", None, describe(device), MISSING_DEVICE, 'for example --device "iPhone 13"'))
    if found:
        return found
    records = collect(found, read_results, Path(run_dir), True)  # missing_ok: a run with no results yet
    if records is None:
        return found
    names = sorted({str((r.device or {}).get("device") or r.node) for r in measured_records(records)})
    if not names:
        found.append(Problem("RUN_DIR", None, describe(run_dir), "it has no device measurements to calibrate on",
                             f"import them first: liteship device import {run_dir} FILE... --device NAME"))
    elif device is not None and not measured_records(records, device.strip()):
        found.append(Problem("--device", None, describe(device), f"the run has no measurements of it; it has "
                             f"measurements of {', '.join(names)}", f'pass one of them, e.g. --device "{names[0]}"'))
    elif device is None and request.chip is not None and len(names) > 1:
        found.append(Problem("--chip", None, describe(request.chip), f"the run has measurements of {len(names)} "
                             f"devices ({', '.join(names)}), and a chip is one device's", 'say which: --device NAME'))
    return found


def device_checks(request, checked_cls) -> tuple[list[Problem], object]:
    """The checks of ``device import`` (with the records to merge), ``device predict`` and ``device kit``, as
    checks.CHECKS takes them."""
    if request.command == "device kit":
        return kit_checks(request), checked_cls()
    if request.command == "device predict":
        return predict_checks(request), checked_cls()
    found, records = import_checks(request)
    return found, checked_cls(prepared=records)


def kit_checks(request) -> list[Problem]:
    """``device kit``: a run with current variants whose files are the variants' own bytes, no command writing it,
    and a kit folder (``--out``) that is new, empty, or a kit liteship wrote holding nothing else: the kit replaces
    its folder whole, so a folder holding anything the kit did not write is refused, naming those files."""
    from liteship.bench import kit_problems

    run_dir, out = text(request.run_dir), text(request.out)
    found = _run_problems(run_dir, writes=False)
    if not out:
        return found + [Problem("--out", None, "missing", "the folder to write the kit into", "e.g. --out device-kit")]
    refused = kit_out_problems(out)
    if refused:
        return found + refused
    if found:
        return found
    found += _kit_lock(run_dir) or _out_is_input(out, run_dir) or _not_a_kit(out)
    if not found:
        found += [Problem(flag, None, describe(value), why, fix) for flag, value, why, fix in kit_problems(
            Path(run_dir), Path(out))]
    return found


def _kit_lock(run_dir: str) -> list[Problem]:
    from liteship.rundir import writer

    holder = writer(run_dir)
    if holder is None:
        return []
    return [Problem("RUN_DIR", None, describe(run_dir), f"it is being written by {holder}: device kit copies the "
                    "run's current variants, which that command may still be making or replacing, so the kit could "
                    "hold variants the run no longer has", "wait for that command to finish, then run device kit "
                    "again")]


def kit_out_problems(out: str) -> list[Problem]:
    """--out of the kit, said of a kit folder: a path of text, outside /proc, /sys and /dev, a folder (new, empty
    or liteship's) on a disk that can be written."""
    from liteship.files import existing_ancestor, kernel_tree, printable, read_only

    def problem(why: str, fix: str = "pass a new folder for the kit, e.g. --out device-kit") -> list[Problem]:
        return [Problem("--out", None, describe(printable(out)), why, fix)]

    if not out.strip():
        return problem("the path is empty (an unset variable?)")
    if printable(os.path.abspath(out)) != os.path.abspath(out):
        return problem("its path is not UTF-8 text: the kit's README and scripts name it")
    if kernel_tree(out) is not None:
        return problem(f"a kit folder cannot be under {kernel_tree(out)}: liteship never writes among the "
                       "kernel's own files (/proc, /sys, /dev)")
    return _kit_folder(Path(out), problem) or _writable(existing_ancestor(out), problem, read_only)


def _kit_folder(path: Path, problem) -> list[Problem]:
    from liteship.rundir import is_marked, LOCK

    try:
        if path.is_symlink() and not path.exists():
            return problem(f"it is a symbolic link to {os.readlink(path)}, which does not exist (a dangling link)",
                           "pass a new folder path, or remove the link")
        if not path.exists() or is_marked(path):
            return []
        if not path.is_dir():
            return problem("it is a file; the kit is a folder", "pass a new folder path")
        entries = sorted(p.name for p in path.iterdir() if p.name != LOCK)
    except OSError as exc:
        return problem(f"it cannot be read: {exc.strerror}", "pass a folder you can read and write")
    if not entries:
        return []
    shown = ", ".join(entries[:6]) + (f" and {len(entries) - 6} more" if len(entries) > 6 else "")
    return problem(f"it is a folder liteship did not make, holding {shown}: the kit replaces its folder whole, "
                   "which would delete them", "pass a new or empty folder for the kit, e.g. --out device-kit")


def _writable(probe: Path, problem, read_only) -> list[Problem]:
    if not probe.is_dir():
        return problem(f"{probe} is a file, so no folder can be made inside it", "pass a folder path")
    if read_only(probe):
        return problem(f"{probe} is on a read-only file system", "pass a folder on a writable disk")
    if not os.access(probe, os.W_OK | os.X_OK):
        return problem(f"{probe} cannot be written to (permission denied)", "pass a folder you can write to")
    return []


def _not_a_kit(out: str) -> list[Problem]:
    """A marked folder that holds files but is not a kit liteship wrote (a run directory): replacing it whole, as
    a kit is replaced, would delete that run."""
    import json

    from liteship.rundir import MARKER

    marker, path = Path(out) / MARKER, Path(out)
    if not marker.is_file() or not any(p.name != MARKER for p in path.iterdir()):
        return []
    try:
        kit = json.loads(marker.read_text(encoding="utf-8")).get("what") == "device kit"
    except (OSError, ValueError, AttributeError):
        kit = False
    return [] if kit else [Problem("--out", None, describe(out), "it is a folder liteship made for something else "
                                   "(a run directory): the kit replaces its folder whole, which would delete it",
                                   "pass a new folder, e.g. --out device-kit")]


def _out_is_input(out: str, run_dir: str) -> list[Problem]:
    """--out that is, is inside, or holds the run directory or the data it was made from (written over: refused)."""
    from liteship.rundir import data_sources

    mine = (os.path.abspath(out), os.path.realpath(out))
    for where, folder in [("the run directory", run_dir)] + [("the data", d) for d in data_sources(Path(run_dir))]:
        theirs = (os.path.abspath(folder), os.path.realpath(folder))
        if any(inside(a, b) or inside(b, a) for a in mine for b in theirs):
            return [Problem("--out", None, describe(out), f"it is, is inside or holds {where} ({folder}), which "
                            "device kit reads: the kit would be written over it", "pass a new folder outside them,"
                            " e.g. --out device-kit")]
    return []


def device_import(request, checked, progress):
    """Merge the records the checks made and predict the device's variants not measured from the merged records,
    in memory, then write both at once (its old predictions replaced), under the run's lock: an interruption leaves
    results.jsonl as it was or whole, never a variant measured beside its old prediction."""
    from liteship.bench import refresh_predictions
    from liteship.workflow.results import DeviceImportResult

    run_dir, records = Path(text(request.run_dir)), list(checked.prepared)
    outcomes = refresh_predictions(run_dir, request.device.strip(), request.chip, command=request.command,
                                   adding=tuple(records))
    return DeviceImportResult(run_dir=run_dir, records=tuple(records), predictions=outcomes)


def device_predict(request, checked, progress):
    from liteship.bench import refresh_predictions
    from liteship.workflow.results import DevicePredictResult

    run_dir, device = Path(text(request.run_dir)), request.device
    outcomes = refresh_predictions(run_dir, device.strip() if device else None, request.chip)
    return DevicePredictResult(run_dir=run_dir, outcomes=outcomes)


def device_kit(request, checked, progress):
    from liteship.bench import write_kit
    from liteship.workflow.results import DeviceKitResult

    out = write_kit(Path(text(request.run_dir)), Path(text(request.out)))
    return DeviceKitResult(out=out, files=tuple(sorted(p.relative_to(out).as_posix() for p in out.rglob("*")
                                                       if p.is_file())))
