"""The Python API of the device round trip: ``liteship.device_kit`` and ``liteship.device_import``.

Like every function of :mod:`liteship.workflow.api`, each builds its command's typed request and hands it to
:func:`liteship.workflow.execute.execute`: every problem is raised at once as :class:`~liteship.config.Problems`
before anything is written, and the run directory is held for the import alone.
"""

from __future__ import annotations

from pathlib import Path

from liteship.workflow.api import _execute, _path
from liteship.workflow.api_words import Caller


def device_kit(run, out, quiet: bool = False) -> Path:
    """Write what a person with a phone needs to measure ``run``'s current variants into the folder ``out``.

    Args:
        run: A run directory or a :class:`~liteship.workflow.run.Run`.
        out: A new or empty folder, or a kit liteship wrote (replaced whole).

    Returns:
        Path: ``out``, holding ``models/<model>-<recipe>-<ID>.tflite``, ``ios/<name>/benchmark_params.json``,
        ``android_adb.sh``, ``run_ios_list.sh``, ``kit.json`` and ``README.md``.

    Raises:
        Problems: ``out`` is not new, empty or liteship's, or is or holds the run or its data.
    """
    from liteship.workflow.requests import DeviceKitRequest

    request = DeviceKitRequest(run_dir=_path(run), out=out)
    return _execute(request, quiet=quiet, caller=Caller(request, {"run": run, "out": out}, {"run_dir": "run"})).out


def device_import(run, files, device: str | None = None, models: dict | None = None, chip: str | None = None,
                  threads: int | None = None, quiet: bool = False):
    """Bring a device's measurements of ``run``'s variants into its results, as records of ``device:<device>``.

    Args:
        run: A run directory or a :class:`~liteship.workflow.run.Run`.
        files: A measurement file or session folder, or a list of them (benchmark_model's stdout or logcat,
            results.pb, the LiteRT Python tool's JSON or stdout, leaderboard rows, litert-samples sessions).
        device: The device measured on ("iPhone 13"): its records are of the backend ``device:iphone-13``.
        models: FILE -> VARIANT, for measurements whose model file's name holds no variant ID.
        chip: The device's chip ("A15"), kept with the records.
        threads: The threads the measurements ran on, for a source that does not say (a leaderboard row).

    Returns:
        tuple[BenchRecord, ...]: the records merged into ``results.jsonl``.

    Raises:
        Problems: Every file that cannot be read and every measurement that matches no current variant, at
            once; nothing is written.
    """
    from liteship.workflow.requests import DeviceImportRequest

    listed = (files,) if isinstance(files, (str, Path)) else tuple(files)
    request = DeviceImportRequest(run_dir=_path(run), files=listed, device=device, model=models, chip=chip,
                                  threads=threads)
    caller = Caller(request, {"run": run, "files": files, "device": device, "models": models, "chip": chip,
                              "threads": threads},
                    {"run_dir": "run", "model": "models"})
    return _execute(request, quiet=quiet, caller=caller).records
