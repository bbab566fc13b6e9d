"""Older runtimes for real: load and run a variant in the tflite-runtime release an app ships.

tflite-runtime needs numpy < 2, so it cannot share liteship's environment.
Each release gets an isolated venv in liteship's cache folder
(:func:`liteship.cache.cache_dir`), made on demand with venv and pip,
reused across runs, and checked before each use: one that is half-made or
broken is rebuilt, and the user is told. The variant runs there in a child
process (:mod:`liteship.bench.legacy_child`) that speaks JSON and .npy files.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from liteship.cache import env_refusal, in_the_way, mark_env, remove_envs, runtimes_dir
from liteship.errors import LiteshipError
from liteship.files import atomic_write_json, staged
from liteship.signals import preexec

DIST = "tflite-runtime"
MARKER = "liteship-runtime.json"
CHILD = Path(__file__).with_name("legacy_child.py")


def env_dir(version: str) -> Path:
    return runtimes_dir() / f"{DIST}-{version}"


def _python(env: Path) -> Path:
    return env / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def cached() -> dict[str, Path]:
    """Every environment in the cache that finished installing, by full version."""
    out = {}
    for path in sorted(runtimes_dir().glob(f"{DIST}-*")) if runtimes_dir().is_dir() else []:
        marker = path / MARKER
        if env_refusal(path, MARKER) is not None:  # a folder of that name liteship did not make: never used
            continue
        try:
            out[str(json.loads(marker.read_text(encoding="utf-8"))["version"])] = path
        except (OSError, ValueError, KeyError, TypeError):  # none, or not liteship's record: not an install
            continue
    return out


def installable_versions(timeout: float = 120) -> list[str] | None:
    """The tflite-runtime releases pip can install for this Python; None when the registry cannot be asked."""
    try:
        proc = subprocess.run([sys.executable, "-m", "pip", "index", "versions", DIST], capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    found = re.search(r"Available versions: (.+)", proc.stdout)
    return [v.strip() for v in found.group(1).split(",")] if proc.returncode == 0 and found else None


def _matches(target: str, version: str) -> bool:
    return version == target or version.startswith(target + ".")


def resolve(target: str) -> str:
    """``2.14`` -> ``2.14.0``: a cached release first, else one pip can install; exit 2 listing them if none."""
    have = [v for v in cached() if _matches(target, v)]
    if have:
        return sorted(have)[-1]
    versions = installable_versions()
    if versions is None:
        raise LiteshipError(
            f"No {DIST} {target} environment is cached, and the package registry cannot be reached",
            f"a real load runs the variant in {DIST} {target}, installed in its own environment",
            f"run `liteship runtimes install {target}` on a machine with network access to PyPI "
            f"(the cache is {runtimes_dir()}; LITESHIP_CACHE moves it)")
    match = [v for v in versions if _matches(target, v)]
    if not match:
        raise LiteshipError(
            f"{DIST} {target} cannot be installed for Python {sys.version_info.major}.{sys.version_info.minor}",
            "the releases pip can install here are: " + ", ".join(versions),
            "pass one of those to --target-runtime or `liteship runtimes install`")
    return match[0]


def healthy(env: Path) -> bool:
    """Finished, and its Python imports tflite_runtime: a half-made or broken environment is not."""
    if not (env / MARKER).is_file() or not _python(env).exists():
        return False
    proc = subprocess.run([str(_python(env)), "-c", "import tflite_runtime.interpreter"], capture_output=True,
                          timeout=120, preexec_fn=preexec())
    return proc.returncode == 0


def install(target: str, log=print) -> Path:
    """The environment of ``target`` (e.g. ``2.14``), made if it is missing and rebuilt if it is broken."""
    version = resolve(target)
    env = env_dir(version)
    if env.exists() or env.is_symlink():
        why = env_refusal(env, MARKER)
        if why is not None:  # a folder of that name liteship did not make: never run, replaced or deleted
            raise in_the_way(env, why)
        if healthy(env):
            return env
        log(f"{env} is half-made or broken: rebuilding it")
        shutil.rmtree(env, ignore_errors=True)
    env.parent.mkdir(parents=True, exist_ok=True)
    with staged(env) as staging:  # venvs find their base Python through pyvenv.cfg: moving the folder is safe
        log(f"making {DIST} {version} in {env} (venv + pip: {DIST}=={version}, numpy<2)")
        subprocess.run([sys.executable, "-m", "venv", str(staging)], check=True, capture_output=True, timeout=300)
        mark_env(staging, DIST)
        pip = subprocess.run([str(_python(staging)), "-m", "pip", "install", "-q", f"{DIST}=={version}", "numpy<2"],
                             capture_output=True, text=True, timeout=900)
        if pip.returncode != 0:
            raise LiteshipError(f"pip could not install {DIST}=={version}: {pip.stderr.strip()[-400:]}",
                                "the environment is made from the package registry",
                                f"run `liteship runtimes install {target}` where PyPI can be reached")
        atomic_write_json(staging / MARKER, {"dist": DIST, "version": version})
    if not healthy(env):
        raise LiteshipError(f"{env} was made but {DIST} does not import there", "", "remove it and try again")
    return env


def remove(target: str) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Delete the environments of ``target`` that liteship made; (removed, [(left, why)]) (:func:`remove_envs`)."""
    found = [path for version, path in cached().items() if _matches(target, version)]
    found += [p for p in runtimes_dir().glob(f"{DIST}-{target}*") if p not in found] if runtimes_dir().is_dir() else []
    return remove_envs(found, MARKER)


def run_in(env: Path, model_path: Path, inputs, convert=None) -> tuple[dict, np.ndarray | None]:
    """Load, allocate and invoke ``model_path`` in the environment, one input at a time; raw outputs. ``inputs``:
    an array or rows of the image cache, passed through ``convert`` (a session's feed) a batch at a time."""
    from liteship.image_rows import save_npy

    with tempfile.TemporaryDirectory(prefix="liteship-legacy-") as tmp:
        save_npy(Path(tmp) / "inputs.npy", inputs, convert)
        request = {"model": str(model_path), "inputs": str(Path(tmp) / "inputs.npy"),
                   "outputs": str(Path(tmp) / "outputs.npy")}
        proc = subprocess.run([str(_python(env)), str(CHILD)], input=json.dumps(request), capture_output=True,
                              text=True, timeout=600, preexec_fn=preexec())
        lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
        if proc.returncode != 0 or not lines:
            return {"loaded": False, "error": f"the runtime's process failed: {proc.stderr.strip()[-300:]}"}, None
        answer = json.loads(lines[-1])
        out = np.load(request["outputs"]) if answer["loaded"] else None
    return answer, out


def real_load(target: str, model_path: Path, pixels: np.ndarray, log=print) -> dict:
    """Run ``model_path`` in tflite-runtime ``target`` on ``pixels`` (fed per the contract) and compare with LiteRT.

    ``compat.real``: the runtime, whether it loaded, its own error, the top-1 agreement with LiteRT's
    XNNPACK interpreter on the same inputs and the largest difference of the outputs (dequantized).
    """
    from liteship.runtime import InterpreterSession, dequantize

    env = install(target, log)
    litert = InterpreterSession(str(model_path))
    reference = litert.predict(pixels)
    answer, raw = run_in(env, Path(model_path), pixels, litert.feed)  # fed a batch at a time, never held whole
    real = {"runtime": f"{DIST} {answer.get('version', '?')}", "loaded": bool(answer["loaded"]),
            "error": answer.get("error"), "agreement": None, "max_abs_diff": None, "images": int(len(pixels))}
    if raw is not None:
        probs = dequantize(raw, litert.output_detail)
        real["agreement"] = round(float(np.mean(np.argmax(probs, 1) == np.argmax(reference, 1))), 6)
        real["max_abs_diff"] = round(float(np.max(np.abs(probs - reference))), 6)
    return real


def missing_op(error: str | None) -> str | None:
    """"FULLY_CONNECTED v12" from the runtime's own "Didn't find op for builtin opcode 'X' version 'N'"."""
    found = re.search(r"opcode '([A-Z0-9_]+)' version '(\d+)'", error or "")
    return f"{found.group(1)} v{found.group(2)}" if found else None
