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
