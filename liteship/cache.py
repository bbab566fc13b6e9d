"""liteship's cache folder, outside every run directory: ``LITESHIP_CACHE``, else the platform's convention.

Linux and others: ``$XDG_CACHE_HOME/liteship`` (``~/.cache/liteship``); macOS:
``~/Library/Caches/liteship``; Windows: ``%LOCALAPPDATA%/liteship/Cache``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def cache_dir() -> Path:
    if os.environ.get("LITESHIP_CACHE"):
        return Path(os.environ["LITESHIP_CACHE"]).expanduser()
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "liteship"
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local")) / "liteship" / "Cache"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "liteship"


def runtimes_dir() -> Path:
    """Where the isolated runtime environments live (tflite-runtime releases, arm64, mediapipe)."""
    return cache_dir() / "runtimes"


# A runtime environment is liteship's when it holds this file, written first when liteship makes one, so that
# `liteship runtimes remove` (and a rebuild) deletes only folders liteship made, never a folder of the same name.
ENV_MARKER = ".liteship-env"
VENV_LAYOUT = frozenset({"bin", "include", "lib", "lib64", "share", "pyvenv.cfg"})  # what `python -m venv` + pip make


def mark_env(staging: Path, kind: str) -> None:
    """Mark a runtime environment being made (its staging folder) as liteship's."""
    import json
    import time

    from liteship.files import atomic_write_text

    atomic_write_text(staging / ENV_MARKER, json.dumps({"made_by": "liteship", "kind": kind, "since": time.time()}))


def env_refusal(env: Path, record: str, layout: frozenset = VENV_LAYOUT) -> str | None:
    """Why ``env`` is not a runtime environment liteship made, or None when it is.

    Its :data:`ENV_MARKER` says so. One made before that marker existed is recognised by the layout liteship
    makes: its own record file ``record`` (written last, when the install succeeded; a regular file) and nothing else
    at the top but ``layout`` (what a venv holds; arm64's own folders). Any other entry there (a user's file) means
    it is not: deleting it could delete the user's work, and nothing but liteship's own is ever deleted.
    """
    try:
        if env.is_symlink() or not env.is_dir():
            return "it is a symbolic link, not a folder liteship made" if env.is_symlink() else "it is not a folder"
        marker = env / ENV_MARKER
        if marker.is_file() and not marker.is_symlink():
            return None
        names = {p.name for p in env.iterdir()}
    except OSError as exc:
        return f"it cannot be read: {exc.strerror}"
    foreign = sorted(names - layout - {record})
    own = record in names and (env / record).is_file() and not (env / record).is_symlink()
    if own and not foreign:
        return None
    held = ", ".join(foreign[:4]) + (f" and {len(foreign) - 4} more" if len(foreign) > 4 else "")
    return (f"it has no {ENV_MARKER} and is not laid out as liteship makes an environment"
            + (f" (it holds {held})" if held else f" (no {record})"))


def remove_envs(paths, record: str, layout: frozenset = VENV_LAYOUT) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Delete the environments among ``paths`` that liteship made (:func:`env_refusal`); (removed, [(left, why)])."""
    import shutil

    gone, left = [], []
    for path in paths:
        why = env_refusal(path, record, layout)
        if why is None:
            shutil.rmtree(path, ignore_errors=True)
            gone.append(path)
        else:
            left.append((path, why))
    return gone, left


def in_the_way(env: Path, why: str):
    """The error for a folder of liteship's environment name that liteship did not make: it is never deleted."""
    from liteship.errors import LiteshipError

    return LiteshipError(f"{env} is in the way of liteship's environment and was left as it is", why,
                         "move it out of liteship's cache (or delete it yourself if it is yours to delete), then "
                         "run the command again")
