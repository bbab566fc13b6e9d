"""MediaPipe Tasks, isolated: TFLite metadata written with its metadata writers, and its ImageClassifier.

MediaPipe pins ``absl-py`` and ``numpy`` versions that tensorflow-model-optimization's do not allow, so it
gets an isolated venv in liteship's cache, made by ``liteship runtimes install mediapipe``. MediaPipe 1.x's
wheel ships the metadata writers without the compiled module they import (``mediapipe.tasks.cc``), so
the environment pins 0.10.21, the last release whose writers import. One child process
(:mod:`liteship.task_api_child`) per :class:`Worker` answers JSON requests, line by line.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from liteship.cache import env_refusal, in_the_way, mark_env, remove_envs, runtimes_dir
from liteship.contract import read_labels
from liteship.errors import LiteshipError
from liteship.files import atomic_write_json, staged
from liteship.image_rows import ImageRows, save_npy
from liteship.signals import preexec

VERSION = "0.10.21"
MARKER = "liteship-mediapipe.json"
CHILD = Path(__file__).with_name("task_api_child.py")
INSTALL = "liteship runtimes install mediapipe"


def env_dir() -> Path:
    return runtimes_dir() / f"mediapipe-{VERSION}"


def _python(env: Path) -> Path:
    return env / "bin" / "python"


def installed() -> bool:
    """Made by liteship (:func:`liteship.cache.env_refusal`), finished (its record) and with its Python."""
    env = env_dir()
    return env_refusal(env, MARKER) is None and (env / MARKER).is_file() and _python(env).exists()


def version() -> str | None:
    """The MediaPipe release metadata is written and checked with, or None when the environment is missing."""
    return VERSION if installed() else None


def _healthy(env: Path) -> bool:
    check = "from mediapipe.tasks.python.metadata.metadata_writers import metadata_writer; " \
            "from mediapipe.tasks.python import vision"
    proc = subprocess.run([str(_python(env)), "-c", check], capture_output=True, timeout=300,
                          preexec_fn=preexec())
    return proc.returncode == 0


def install(log=print) -> Path:
    """The environment, made if missing and rebuilt if broken (venv + pip from the package registry)."""
    env = env_dir()
    if env.exists() or env.is_symlink():
        why = env_refusal(env, MARKER)
        if why is not None:  # a folder of that name liteship did not make: never run, replaced or deleted
            raise in_the_way(env, why)
        if (env / MARKER).is_file() and _healthy(env):
            return env
        log(f"{env} is half-made or broken: rebuilding it")
        shutil.rmtree(env, ignore_errors=True)
    env.parent.mkdir(parents=True, exist_ok=True)
    with staged(env) as staging:
        log(f"making mediapipe {VERSION} in {env} (venv + pip)")
        subprocess.run([sys.executable, "-m", "venv", str(staging)], check=True, capture_output=True, timeout=300)
        mark_env(staging, "mediapipe")
        pip = subprocess.run([str(_python(staging)), "-m", "pip", "install", "-q", f"mediapipe=={VERSION}"],
                             capture_output=True, text=True, timeout=1800)
        if pip.returncode != 0:
            raise LiteshipError(f"pip could not install mediapipe=={VERSION}: {pip.stderr.strip()[-400:]}",
                                "the environment is made from the package registry",
                                f"run `{INSTALL}` where PyPI can be reached")
        atomic_write_json(staging / MARKER, {"dist": "mediapipe", "version": VERSION})
    if not _healthy(env):
        raise LiteshipError(f"{env} was made but MediaPipe's Tasks do not import there", "",
                            f"`liteship runtimes remove mediapipe`, then `{INSTALL}`")
    return env


def remove() -> tuple[list[Path], list[tuple[Path, str]]]:
    """Delete the environment if liteship made it; (removed, [(left, why)]) (:func:`liteship.cache.remove_envs`)."""
    env = env_dir()
    return remove_envs([env] if env.exists() or env.is_symlink() else [], MARKER)


class Worker:
    """One MediaPipe child process, started on first use and kept for the requests that follow."""

    def __init__(self):
        self._proc = None

    def ask(self, request: dict) -> dict:
        if not installed():
            raise LiteshipError("The MediaPipe environment is not installed",
                                "metadata and the MediaPipe check run in MediaPipe's own environment",
                                f"run `{INSTALL}`")
        if self._proc is None or self._proc.poll() is not None:
            # without MPLBACKEND: Jupyter's kernel sets it to its inline backend, which MediaPipe's own venv has not
            # got, and its matplotlib refuses to import (every variant made in a notebook failed)
            env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
            self._proc = subprocess.Popen([str(_python(env_dir())), str(CHILD)], stdin=subprocess.PIPE,
                                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                          preexec_fn=preexec(), env=env)
        self._proc.stdin.write(json.dumps(request) + "\n")
        self._proc.stdin.flush()
        while True:
            line = self._proc.stdout.readline()
            if not line:
                self._proc = None
                return {"ok": False, "error": "the MediaPipe process ended without an answer"}
            if line.startswith("{"):
                return json.loads(line)

    def close(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.stdin.close()
            self._proc.wait(timeout=60)
        self._proc = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def normalization(input_dtype: str) -> tuple[list[float], list[float]]:
    """The metadata's (mean, std) for the input contract: bytes/255 for a float input, the tensor's own
    quantization (nothing more) for a uint8 one."""
    return ([0.0], [255.0]) if input_dtype == "float32" else ([0.0], [1.0])


def add_metadata(worker: Worker, tflite: bytes, labels: list[str], name: str, description: str, version: str,
                 input_dtype: str) -> bytes:
    """``tflite`` with TFLite metadata written by MediaPipe's metadata writer; the graph is unchanged."""
    mean, std = normalization(input_dtype)
    with tempfile.TemporaryDirectory(prefix="liteship-metadata-") as tmp:
        src, dst = Path(tmp) / "in.tflite", Path(tmp) / "out.tflite"
        src.write_bytes(tflite)
        answer = worker.ask({"action": "write", "src": str(src), "dst": str(dst), "name": name,
                             "description": description, "version": version, "mean": mean, "std": std,
                             "labels": list(labels)})
        if not answer.get("ok"):
            raise LiteshipError(f"MediaPipe's metadata writer refused the model: {answer.get('error')}",
                                "every variant carries TFLite metadata for MediaPipe Tasks",
                                "report it with the model; `liteship runtimes remove mediapipe` makes variants "
                                "without metadata")
        return dst.read_bytes()


def read_metadata(worker: Worker, model: Path) -> dict:
    """The metadata as MediaPipe's displayer reads it, with the associated labels file's text."""
    return worker.ask({"action": "read", "model": str(model)})


def classify(worker: Worker, model: Path, images, rois: list | None = None) -> tuple[dict, np.ndarray | None]:
    """MediaPipe's ImageClassifier on each RGB uint8 image (any size): every class's score by index. ``rois``:
    each image's region of interest, normalized [left, top, right, bottom] (None: the whole image, stretched)."""
    with tempfile.TemporaryDirectory(prefix="liteship-mediapipe-") as tmp:
        path, scores = Path(tmp) / "images.npy", Path(tmp) / "scores.npy"
        if isinstance(images, (np.ndarray, ImageRows)):  # an array, or rows of the image cache
            save_npy(path, images)  # a batch at a time; the child reads an image at a time
        else:
            holder = np.empty(len(images), dtype=object)
            holder[:] = list(images)
            np.save(path, holder, allow_pickle=True)
        answer = worker.ask({"action": "classify", "model": str(model), "images": str(path), "scores": str(scores),
                             "rois": rois})
        return answer, (np.load(scores) if answer.get("ok") else None)


def has_metadata(model) -> bool:
    """Whether a parsed .tflite carries TFLite metadata (the "TFLITE_METADATA" entry), read without MediaPipe."""
    return any((m.name or b"").decode("utf-8", "replace") == "TFLITE_METADATA" for m in (model.metadata or []))


def file_metadata(path: Path, model) -> dict | None:
    """A file's metadata labels and its disagreements with the input contract; None without metadata or
    without the MediaPipe environment to read it."""
    from liteship.tflite_file import io_specs

    if not has_metadata(model) or not installed():
        return None
    with Worker() as worker:
        shown = read_metadata(worker, path)
    inputs, outputs = io_specs(model)
    labels = read_labels(shown.get("labels") or "") or None
    return {"labels": labels, "problems": metadata_problems(shown, str(inputs[0].dtype),
                                                            int(outputs[0].shape[-1]))}


def metadata_problems(shown: dict, input_dtype: str, classes: int) -> list[str]:
    """Where the model's metadata (as MediaPipe's displayer read it) disagrees with the input contract: its
    normalization, or a labels file of another length than the output; no metadata is a problem too."""
    if not shown.get("ok"):
        return [f"no TFLite metadata MediaPipe can read ({shown.get('error', '')[:200]})"]
    graph = (shown["metadata"].get("subgraph_metadata") or [{}])[0]
    units = ((graph.get("input_tensor_metadata") or [{}])[0].get("process_units") or [])
    norm = next((u["options"] for u in units if u.get("options_type") == "NormalizationOptions"), None)
    mean, std = normalization(input_dtype)
    problems = []
    if norm is None or [float(v) for v in norm.get("mean", [])] != mean or \
            [float(v) for v in norm.get("std", [])] != std:
        problems.append(f"metadata normalization {norm and {k: norm.get(k) for k in ('mean', 'std')}}; the input "
                        f"contract for a {input_dtype} input is mean {mean} std {std}")
    labels = shown.get("labels")
    count = len(read_labels(labels or ""))
    if labels is None or count != classes:
        problems.append(f"metadata labels.txt has {count if labels is not None else 'no'} labels; the model "
                        f"outputs {classes} classes")
    return problems


def check(worker: Worker, model: Path, pixels: np.ndarray, labels: np.ndarray, reference: np.ndarray,
          shown: dict | None = None) -> dict:
    """The variant in MediaPipe's ImageClassifier on the images liteship scored (already at the model's size):
    whether it loaded, its top-1, its agreement with liteship's own predictions (``reference``, the scores the
    app-emulating path computed) and the largest score difference."""
    from liteship.tflite_file import io_specs, read_model

    answer, scores = classify(worker, model, pixels)
    spec = io_specs(read_model(Path(model).read_bytes()))[0][0]
    shown = read_metadata(worker, model) if shown is None else shown  # a caller that read it already passes it
    problems = metadata_problems(shown, str(spec.dtype), int(reference.shape[1]))
    out = {"runtime": f"mediapipe {VERSION} ImageClassifier (Python, CPU)", "version": VERSION,
           "metadata_problems": problems,
           "loaded": bool(answer.get("ok")), "error": answer.get("error"), "top1": None, "agreement": None,
           "max_score_diff": None, "images": int(len(pixels))}
    if scores is not None:
        out["top1"] = round(float(np.mean(np.argmax(scores, 1) == labels)), 6)
        out["agreement"] = round(float(np.mean(np.argmax(scores, 1) == np.argmax(reference, 1))), 6)
        out["max_score_diff"] = round(float(np.max(np.abs(scores - reference))), 6)
    return out
