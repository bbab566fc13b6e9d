"""Peak resident memory growth of loading and invoking a model (Linux /proc)."""

from __future__ import annotations

from pathlib import Path


def _status(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


class PeakRss:
    """``with PeakRss() as m: ...`` then ``m.growth_mb``: peak RSS above the RSS at entry.

    Resets the kernel's high-water mark first (``/proc/self/clear_refs``), so
    each measurement sees only its own peak. None where /proc is missing.
    """

    growth_mb: float | None = None

    def __enter__(self):
        try:
            Path("/proc/self/clear_refs").write_text("5")
        except OSError:
            self.base = None
            return self
        self.base = _status("VmRSS")
        return self

    def __exit__(self, *exc):
        peak = _status("VmHWM")
        if self.base is not None and peak is not None:
            self.growth_mb = round(max(0, peak - self.base) / 2**20, 3)
        return False
