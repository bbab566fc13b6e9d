"""Every command's whole input checked before it trains, converts or measures anything.

The CLI parses numbers with lenient types that keep a bad value instead of
stopping at the first (:mod:`liteship.app.flags`) and carries each as one of the
request's ``flag_problems``, so :func:`liteship.workflow.checks.check` can report every problem at once: flags,
paths, config and budgets files, recipes, backends, threads, sizes, and the
memory and disk the work would need. The checks here take typed requests
(:mod:`liteship.workflow.requests`) and read their fields. Nothing here writes a
file.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from liteship.config import Problem, Problems, describe
from liteship.errors import LiteshipError
from liteship.files import existing_ancestor, read_only


def flag_problems(request) -> list[Problem]:
    """The values the request's caller gave that could not be parsed (the CLI's flags)."""
    return list(request.flag_problems)


def text(value) -> str | None:
    """A path a request holds (text, or a ``Path``) as text; anything else (a settings object) as it is."""
    return os.fspath(value) if isinstance(value, os.PathLike) else value


def _as_problems(exc: LiteshipError) -> list[Problem]:
    if isinstance(exc, Problems):
        return exc.problems
    return [Problem(exc.what, None, "", exc.why, exc.fix or "check it")]


def collect(found: list[Problem], fn, *args):
    """``fn(*args)``; its LiteshipError becomes problems in ``found`` and None is returned."""
    try:
        return fn(*args)
    except LiteshipError as exc:
        found.extend(_as_problems(exc))
        return None


def data_problems(data: str | None, flag: str = "--data") -> list[Problem]:
    from liteship.archive import ARCHIVE_SUFFIXES

    from liteship.files import kernel_tree, unreadable_reason

    if data is None or data == "digits":
        return []
    if data == "":  # Path("") is the current folder: never read it by accident
        return [Problem(flag, None, "", "it is empty", "pass a folder of class folders, an archive of one, or digits")]
    path = Path(data)
    if kernel_tree(path) is not None:
        return [Problem(flag, None, describe(data), unreadable_reason(path) or f"it is in {kernel_tree(path)}",
                        "pass a folder of class folders, or an archive of one")]
    why = unreadable_reason(path)
    if path.is_dir():
        from liteship.dataset import class_name_problems

        classes = [p for p in path.iterdir() if p.is_dir() and not p.name.startswith(".")]
        if len(classes) < 2:
            return [Problem(flag, None, describe(data), f"a data folder holds one sub-folder per class, and this one "
                            f"has {len(classes)}", "point it at the folder whose sub-folders are the classes")]
        return [Problem(flag, None, describe(data), f"its class folder {describe(name)} cannot be a class: {why}",
                        "give each class a plain folder inside the data folder, named in plain text (labels.txt holds "
                        "one class name a line), unique whatever the case")
                for name, why in class_name_problems(path)]
    if why is None and data.lower().endswith(ARCHIVE_SUFFIXES):
        return []
    if re.match(r"[A-Za-z][A-Za-z0-9+.-]*://", data):
        return [Problem(flag, None, describe(data), "it is a URL, and liteship fetches nothing: it reads a folder "
                        "of class folders, an archive of one or digits on this machine",
                        "download it first, then pass the folder or the archive")]
    if path.is_symlink() and not path.exists():
        why = f"it is a symbolic link to {os.readlink(path)}, which does not exist (a dangling link)"
    else:
        why = "it is not a folder" if path.exists() else "nothing is there"
    return [Problem(flag, None, describe(data), f"it takes a folder of class folders, an archive of one (.tar, "
                    f".tar.gz, .tgz, .zip) or digits; {why}", "check the path")]


def out_problems(out: str | None, flag: str = "--out", data: str | None = None) -> list[Problem]:
    """A run directory to make: new, empty, or liteship's own (marked); writable; apart from the data."""
    from liteship.rundir import out_refusal

    from liteship.files import printable

    if out is None:
        return []
    path = Path(out)
    if printable(os.path.abspath(out)) != os.path.abspath(out):
        return [Problem(flag, None, describe(printable(out)), "its path is not UTF-8 text: LiteRT cannot open a model "
                        "there, and the reports name it", "pass a run directory whose path is plain text")]
    if data not in (None, "digits", "") and Path(data).exists():
        d, o = Path(data).resolve(), path.resolve()
        if d == o or d in o.parents or o in d.parents:
            where = "is the data" if d == o else ("is inside the data" if d in o.parents else "holds the data")
            return [Problem(flag, None, describe(out), f"it {where} ({data}): the run would write among the images "
                            "it reads, and every later run would read its files as images",
                            "pass a run directory outside the data folder, e.g. --out runs/demo")]
    refusal = out_refusal(out)
    if refusal is not None:
        return [Problem(flag, None, describe(out), *refusal)]
    probe = existing_ancestor(path)
    if not probe.is_dir():
        return [Problem(flag, None, describe(out), f"{probe} is a file, so no folder can be made inside it",
                        "pass a folder path")]
    if read_only(probe):
        return [Problem(flag, None, describe(out), f"{probe} is on a read-only file system",
                        "pass a folder on a writable disk")]
    if not os.access(probe, os.W_OK | os.X_OK):
        return [Problem(flag, None, describe(out), f"{probe} cannot be written to (permission denied)",
                        "pass a folder you can write to")]
    return []


def output_problems(path: str | None, flag: str) -> list[Problem]:
    """A file the user names for a report (--json, --junit, --markdown)."""
    from liteship.files import output_problem

    if path is None:
        return []
    why = output_problem(path)
    return [] if why is None else [Problem(flag, None, describe(path), why,
                                           "pass a file path you can write (or - for standard output)")]


def file_problems(value: str | None, flag: str) -> list[Problem]:
    """A file to read: a regular file, outside /proc, /sys and /dev (links resolved)."""
    from liteship.files import unreadable_reason

    why = None if value is None else unreadable_reason(value)
    return [] if why is None else [Problem(flag, None, describe(value), why, "check the path")]


def run_dir_problems(run_dir: str | None, flag: str = "RUN_DIR", needs: str = "results.jsonl",
                     writes: bool = False) -> list[Problem]:
    """An existing run directory; ``writes``: one this command writes into, so it must be liteship's (marked)."""
    from liteship.rundir import MARKER, is_marked

    if run_dir is None:
        return []
    path = Path(run_dir)
    if not path.is_dir():
        why = "it is a file, not a run directory" if path.exists() else "there is no such run directory"
        return [Problem(flag, None, describe(run_dir), why, "pass the folder a sweep or train wrote (--out)")]
    link = path / needs if needs else None
    if link is not None and link.is_symlink() and not inside(os.path.realpath(link), os.path.realpath(path)):
        return [Problem(flag, None, describe(run_dir), f"its {needs} is a link to another place "
                        f"({describe(os.readlink(link))}); liteship reads a run's own files, and would judge that "
                        "place's records as this run's", "pass the run directory the results belong to, or put a "
                        "copy of the file in place of the link")]
    if writes and not is_marked(path):
        return [Problem(flag, None, describe(run_dir), f"it has no {MARKER}, so liteship did not make it, and this "
                        "command writes into it", "pass a run directory a sweep or train made; if an older liteship "
                        f"made this one, mark it with `touch {path / MARKER}`")]
    if needs and not (path / needs).is_file():
        return [Problem(flag, None, describe(run_dir), f"it has no {needs}",
                        "run `liteship sweep` (or train, optimize and bench) into it first")]
    return []


# --------------------------------------------------------------------------- paths, and outputs that are inputs

PATH_ARGS = {"data": "--data", "out": "--out", "target": "TARGET", "labels": "--labels", "config": "--config",
             "budgets": "--budgets", "thresholds": "--thresholds", "run_dir": "RUN_DIR", "base": "BASE", "new": "NEW",
             "json": "--json", "junit": "--junit", "markdown": "--markdown", "model_explorer": "--model-explorer"}
OUTPUT_FLAGS = {"json": "--json", "junit": "--junit", "markdown": "--markdown",  # files the user names for a report
                "model_explorer": "--model-explorer"}


SETTINGS_ARGS = ("config", "budgets", "thresholds")  # a path, or a settings object: their own checks say which
PATH_WORDS = {"data": "a folder of class folders, an archive of one or 'digits'", "out": "the run directory to write",
              "run_dir": "a run directory", "target": "a .tflite file or a run directory",
              "base": "a run directory or its results.jsonl", "new": "a run directory or its results.jsonl"}


def path_kind_problems(request) -> dict[str, Problem]:
    """Each path argument that is not a path at all (None where one is needed is each command's "missing"; bytes,
    a number): field -> its problem. The CLI gives text; a Python caller may pass anything."""
    out = {}
    for name, flag in PATH_ARGS.items():
        value = text(getattr(request, name, None))
        if name not in SETTINGS_ARGS and value is not None and not isinstance(value, str):
            out[name] = Problem(flag, None, describe(value), f"it takes a path: {PATH_WORDS.get(name, 'a file')}",
                                "pass it as text or a pathlib.Path")
    return out


def tilde_problems(request) -> dict[str, Problem]:
    """Each path starting with ~: Python (and a quoted ~ on the command line) takes it literally, a folder named ~
    here, not the home folder: field -> its problem."""
    out = {}
    for name, flag in PATH_ARGS.items():
        value = text(getattr(request, name, None))
        if isinstance(value, str) and value.startswith("~"):
            out[name] = Problem(flag, None, describe(value), "~ is not expanded in Python (nor when quoted on the "
                                "command line): it would be a folder named ~ here, not your home folder",
                                f"use os.path.expanduser({value!r}), or write the home folder's path")
    return out


def path_problems(request) -> list[Problem]:
    """Paths the system cannot even look at (a name over 255 bytes, a link loop): said first, nothing else checked."""
    import errno

    found = []
    for name, flag in PATH_ARGS.items():
        value = text(getattr(request, name, None))
        if value == "" and name in ("config", "budgets", "thresholds", "labels"):  # "" is not "no file given"
            found.append(Problem(flag, None, "", "it is empty", "pass a file path, or drop the flag"))
        if not isinstance(value, str) or value in ("", "-", "digits"):
            continue
        try:
            os.stat(value)
        except ValueError:
            found.append(Problem(flag, None, describe(value), "it holds a NUL character", "pass a real path"))
        except OSError as exc:
            if exc.errno in (errno.ENAMETOOLONG, errno.ELOOP):
                found.append(Problem(flag, None, describe(value if len(value) < 80 else value[:77] + "..."),
                                     f"the system cannot use this path: {exc.strerror}", "pass a shorter path"
                                     if exc.errno == errno.ENAMETOOLONG else "pass a path without a link loop"))
    return found


def _stat(path: str) -> os.stat_result | None:
    try:
        return os.stat(path)
    except (OSError, ValueError):
        return None


def _same(a: os.stat_result | None, b: os.stat_result | None) -> bool:
    return a is not None and b is not None and (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def inside(path: str, folder: str) -> bool:
    """``path`` is ``folder`` or below it (as text: the caller resolves both alike)."""
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


WALK_LIMIT = 200_000  # entries of one input folder searched for links to an output; a bigger tree is searched so far


def _held_in(folder: str, info: os.stat_result, real: str) -> str | None:
    """An entry below ``folder`` that is the output file: the same inode (a hard link) or a link to it.
    Links are read, never followed (a class folder linked to / is one entry, not a tree)."""
    seen = 0
    for root, dirs, names in os.walk(folder):
        seen += len(dirs) + len(names)
        if seen > WALK_LIMIT:
            return None
        for name in dirs + names:
            path = os.path.join(root, name)
            try:
                entry = os.lstat(path)
            except OSError:
                continue
            if _same(entry, info) or (os.path.islink(path) and os.path.realpath(path) == real):
                return path
    return None


def _alias(out: str, files: list, folders: list) -> str | None:
    """How the output ``out`` is one of the inputs: a file the command reads, or anything inside a folder it reads
    (the path as written or as its links resolve, or the same inode); None when it is none of them."""
    plain, real, info = os.path.abspath(out), os.path.realpath(out), _stat(out)
    if info is not None and stat.S_ISDIR(info.st_mode):  # an input folder: never suggest a file inside it
        return next((f"it is a folder inside {where} ({folder})" for where, folder in folders if inside(plain,
                     os.path.abspath(folder)) or inside(real, os.path.realpath(folder))), None)
    if info is not None and not stat.S_ISREG(info.st_mode):
        return None  # a FIFO or device (standard output's /dev/stdout): written to, never replaced
    for where, path in files:
        mine = _stat(path)
        if plain == os.path.abspath(path) or real == os.path.realpath(path) or _same(info, mine):
            how = ("the same file as" if plain == os.path.abspath(path) else "a link to" if real ==
                   os.path.realpath(path) else "a hard link of")
            return f"it is {how} {where} ({path})"
    for where, folder in folders:
        if inside(plain, os.path.abspath(folder)) or inside(real, os.path.realpath(folder)):
            return f"it is inside {where} ({folder})"
    for where, folder in folders if info is not None else ():
        held = _held_in(folder, info, real)
        if held is not None:
            return f"it is the file {held} of {where} ({folder}), through a link"
    return None


def _run_inputs(where: str, run_dir: str) -> tuple[list, list]:
    """(files, folders): a run directory a command reads, and the data (folders, archives) it was made from."""
    from liteship.rundir import data_sources

    data = [(f"the data {where} was made from", d) for d in data_sources(Path(run_dir))]
    return [d for d in data if not os.path.isdir(d[1])], [(where, run_dir)] + [d for d in data if os.path.isdir(d[1])]


def runs_holding(path: str) -> list[str]:
    """The liteship run directories ``path`` is in: the first folder marked as a run, walking up from its folder as
    written and from its folder with links resolved."""
    from liteship.rundir import is_marked

    starts = (Path(os.path.abspath(path)).parent, Path(os.path.realpath(path)).parent)
    return list(dict.fromkeys(run for start in starts for run in [next((str(f) for f in (start, *start.parents)
                                                                        if is_marked(f)), None)] if run))


def _side_inputs(where: str, value: str | None) -> tuple[list, list]:
    """(files, folders) of a path a command reads: a folder is a run directory, and so is the run directory its
    results.jsonl lives in (through a link); a file read in a run directory (a results.jsonl, a variant's .tflite)
    brings the directories it is in along."""
    if value is None:
        return [], []
    path = Path(value)
    files, folders = _run_inputs(where, value) if path.is_dir() else ([(where, value)], [])
    runs = runs_holding(str(path / "results.jsonl") if path.is_dir() else value)
    for run in [r for r in runs if not path.is_dir() or os.path.realpath(r) != os.path.realpath(value)]:
        more_files, more_folders = _run_inputs(f"the run directory of {where}" if not path.is_dir() else
                                               f"the run directory {where}'s results.jsonl lives in", run)
        files, folders = files + more_files, folders + more_folders
    return files, folders


def inputs(request) -> tuple[list, list]:
    """(files, folders), each (where, path): everything the command reads, which no output of it may overwrite."""
    files, folders = [], []
    sides = {"bench": ("target", "data", "labels"), "gate": ("run_dir", "budgets"),
             "compare": ("base", "new", "thresholds"), "explain": ("run_dir",)}.get(request.command, ())
    for name in sides:
        value = text(getattr(request, name, None))
        more_files, more_folders = _side_inputs(PATH_ARGS[name], value if isinstance(value, str) else None)
        files, folders = files + more_files, folders + more_folders
    target = text(getattr(request, "target", None))
    if request.command == "bench" and target is not None and not Path(target).is_dir():
        files.append(("the labels beside TARGET", str(Path(target).with_name("labels.txt"))))
    return files, folders


def alias_problems(request, files: list, folders: list) -> list[Problem]:
    """Every output flag of ``request`` that would overwrite what the command reads: ``files`` and ``folders`` are
    (where, path) of its inputs. The one rule for every command with output flags; nothing is written."""
    from liteship.files import output_stream

    found, taken, streams = [], {}, {}
    for name, flag in OUTPUT_FLAGS.items():
        out = text(getattr(request, name, None))
        if not isinstance(out, str) or out == "" or "\0" in out:
            continue
        stream = {"-": "standard output", "/dev/stdout": "standard output", "/dev/stderr": "standard error"}.get(
            output_stream(out))
        if stream is not None:
            found += [Problem(flag, None, describe(out), f"{flag} and {other} ({path}) both write to {stream}: the "
                              "two outputs would run into each other", f"send {flag} or {other} to a file")
                      for other, path in streams.get(stream, [])][:1]
            streams.setdefault(stream, []).append((flag, out))
            continue
        how = _alias(out, files, folders)
        if how is not None:
            found.append(Problem(flag, None, describe(out), f"{how}, which liteship {request.command} reads: "
                                 "the output would overwrite it", "pass a new file path for the output, outside the "
                                 "run directories and data folders the command reads (or - for standard output)"))
        else:
            found += _two_outputs(flag, out, taken)
        taken[flag] = out
    return found


def _two_outputs(flag: str, out: str, taken: dict) -> list[Problem]:
    """``flag`` names the file an earlier output flag of the same command names (as written, or through a link)."""
    for other, path in taken.items():
        if _alias(out, [(other, path)], []) is not None:
            link = ("" if os.path.abspath(out) == os.path.abspath(path) else " (through a link)"
                    if os.path.realpath(out) == os.path.realpath(path) else " (through a hard link)")
            return [Problem(flag, None, describe(out), f"{flag} and {other} ({path}) name one file{link}: each output "
                            "would overwrite the other", f"pass {flag} and {other} two different files")]
    return []
