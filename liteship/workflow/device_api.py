"""The Python API of the device round trip: ``liteship.device_kit``, ``liteship.device_import`` and
``liteship.device_predict``.

Like every function of :mod:`liteship.workflow.api`, each builds its command's typed request and hands it to
:func:`liteship.workflow.execute.execute`: every problem is raised at once as :class:`~liteship.config.Problems`
before anything is written, and the run directory is held for the import alone.
"""

from __future__ import annotations

import os
from pathlib import Path

from liteship.workflow.api import _execute, _path
from liteship.workflow.api_words import Caller


def device_kit(run, out, quiet: bool = False) -> Path:
    """Write what a person with a phone needs to measure ``run``'s current variants into the folder ``out``.

    Args:
        run: A run directory or a :class:`~liteship.workflow.run.Run`.
        out: A new or empty folder, or a kit liteship wrote (replaced whole) holding nothing it did not write.

    Returns:
        Path: ``out``, holding ``models/<model>-<recipe>-<ID>.tflite``, ``ios/<name>/benchmark_params.json``,
        ``android_adb.sh``, ``run_ios_list.sh``, ``kit.json`` and ``README.md``.

    Raises:
        Problems: ``out`` is not new, empty or liteship's, is or holds the run or its data, or is a kit folder
            holding files the kit did not write (the phone's outputs in ``results/``, notes) or changed since; a
            current variant's file is missing, not a regular file or not the variant's bytes; a command writes
            ``run``. Nothing is written.
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
        tuple[BenchRecord, ...]: the records merged into ``results.jsonl``. The device's variants not measured are
        then predicted from their counts, as :func:`device_predict` does (its old predictions replaced).

    Raises:
        Problems: Every file that cannot be read and every measurement that matches no current variant, at
            once; nothing is written.
    """
    from liteship.workflow.requests import DeviceImportRequest

    listed = (files,) if isinstance(files, (str, bytes, os.PathLike)) or not _iterable(files) else tuple(files)
    request = DeviceImportRequest(run_dir=_path(run), files=listed, device=device, model=models, chip=chip,
                                  threads=threads)
    caller = Caller(request, {"run": run, "files": files, "device": device, "models": models, "chip": chip,
                              "threads": threads},
                    {"run_dir": "run", "model": "models"})
    return _execute(request, quiet=quiet, caller=caller).records


def _iterable(value) -> bool:
    try:
        iter(value)
    except TypeError:
        return False
    return True


def device_predict(run, device: str | None = None, chip: str | None = None, quiet: bool = False) -> tuple:
    """Predict each device's milliseconds for ``run``'s variants not measured on it, from their counts on the ISA
    profile that stands for its chip, calibrated on the variants that were (records of ``predicted:<device>``,
    replacing the old ones). ``device import`` does this after each import; call it after new counts
    (``liteship.bench(run, backends=["arm64-a15"])``).

    Args:
        run: A run directory or a :class:`~liteship.workflow.run.Run`, with imported device measurements.
        device: Only this device's ("iPhone 13"); every device's without it.
        chip: The device's chip ("A15", "M4 Max", "Tensor G4") or ISA class ("neon-i8mm"), over what its records
            keep (the chip read from the sources at import, or given then).

    Returns:
        tuple: one outcome per device backend and thread count (``liteship.bench.PredictionOutcome``):
        ``predicted``, its ``calibration`` and ``records``, or ``why`` not and the ``fix``; ``said()`` in words.

    Raises:
        Problems: The run has no device measurements (of ``device``), or ``chip`` is not one liteship knows.
    """
    from liteship.workflow.requests import DevicePredictRequest

    request = DevicePredictRequest(run_dir=_path(run), device=device, chip=chip)
    caller = Caller(request, {"run": run, "device": device, "chip": chip}, {"run_dir": "run"})
    return _execute(request, quiet=quiet, caller=caller).outcomes
