"""Per-op quantization error: each op's output in a quantized .tflite against the float .tflite's, on images.

LiteRT Quantizer's model validator (``litert_quantizer.model_validator.compare_model``, what ``Quantizer.validate``
runs) invokes both models on the same inputs with every tensor kept, dequantizes each quantized tensor with its own
scale and zero point, and compares every tensor the two graphs name alike: mean squared error, SNR (the float
tensor's power over the error's) and cosine similarity, each the mean over the images. Its SNR divides by the error
plus 1e-9, so an op whose output equals float's on every image (MSE 0) would show 77 to 94 dB, which reads as an
error; here such an op is exact (SNR infinite) and ranks after every op with an error. Its KL divergence is left out:
it takes each tensor for a probability distribution, which an activation is not (on ReLU outputs it gave negative
values and values in the thousands). Here it is fed
contract images as the float model takes them (bytes / 255); for a uint8 or int8 input the validator quantizes them
with the input's own scale and zero point, which under the contract (1/255) gives back exactly the app's bytes.

Its tensors are then tied to the quantized model's ops: the op's index in the main subgraph, its op code and its
output tensor's name. That name is what the tools share: the converter keeps the float model's tensor names in the
graphs it quantizes, the quantizer's recipes select ops by it (an op's regex scope is its output names), and the
converter's ``denylisted_nodes`` (an op left in float) take it. An op whose output the float model does not name
(the input's QUANTIZE, a DEQUANTIZE before an op kept in float) has no error to give and is left out.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from liteship.contract import pixels_to_float
from liteship.errors import LiteshipError
from liteship.tflite_file import op_name, read_model

CONVERSIONS = ("QUANTIZE", "DEQUANTIZE")
VALIDATOR = "LiteRT Quantizer's model validator"
INSTALL = "pip install litert-quantizer"


@dataclass(frozen=True)
class OpError:
    """One op's output in the quantized model against the float model's tensor of the same name, on the images."""

    index: int  # the op's index in the quantized model's main subgraph (Model Explorer's node id for it)
    op: str  # its op code: CONV_2D, ...
    tensor: str  # its output tensor's name (the float model's, the quantizer's scope, the converter's node name)
    mse: float  # mean squared error, in the tensor's float units
    snr: float  # signal power over error power (the validator's linear ratio; 10 log10 of it is in dB)
    cosine: float  # cosine similarity of the two tensors (1: the same direction)
    float_op: str = ""  # the op that makes the tensor in the float model, where it is not ``op`` (SOFTMAX, whose
    # output the converter's final QUANTIZE takes over)

    @property
    def exact(self) -> bool:
        """The output equals the float model's on every image."""
        return self.mse == 0

    @property
    def snr_db(self) -> float:
        return 10.0 * math.log10(self.snr) if self.snr > 0 else -math.inf

    def to_dict(self) -> dict:
        """For a record: the numbers rounded to what they say, SNR also in dB (None for an exact op, which says
        ``exact``: JSON has no infinity); ``float_op`` only where it differs."""
        finite = math.isfinite(self.snr)
        out = {**asdict(self), "mse": float(f"{self.mse:.4g}"), "snr": float(f"{self.snr:.4g}") if finite else None,
               "cosine": round(self.cosine, 6), "snr_db": round(self.snr_db, 2) if math.isfinite(self.snr_db) else None,
               **({"exact": True} if self.exact else {})}
        return out if self.float_op else {k: v for k, v in out.items() if k != "float_op"}


def worst_first(errors) -> list[OpError]:
    """``errors`` ordered from the lowest SNR (the op whose output strays most from float's) to the highest, the exact
    ones (SNR infinite) last."""
    return sorted(errors, key=lambda e: (e.snr, e.index))


def _signature(tflite: bytes) -> tuple[str, list[str]]:
    from ai_edge_litert.interpreter import Interpreter

    signatures = Interpreter(model_content=tflite).get_signature_list()
    if len(signatures) != 1:
        raise LiteshipError(f"the model has {len(signatures)} signatures", "the per-op error runs one signature "
                            "with one image input", "export the model with one serving signature")
    key, io = next(iter(signatures.items()))
    return key, list(io["inputs"])


def _sized(fn):
    """The validator's metric, or NaN for two tensors of one name but different sizes (not the same tensor)."""
    return lambda a, b: fn(a, b) if np.size(a) == np.size(b) else math.nan


def op_outputs(tflite: bytes) -> list[tuple[int, str, str]]:
    """(index, op code, first output tensor's name) of every op in the main subgraph."""
    model = read_model(tflite)
    sg = model.subgraphs[0]
    out = []
    for i, op in enumerate(sg.operators or []):
        if op.outputs is None or not len(op.outputs) or op.outputs[0] < 0:
            continue
        name = sg.tensors[op.outputs[0]].name
        out.append((i, op_name(model, op), name.decode("utf-8", "replace") if isinstance(name, bytes) else str(name)))
    return out


def tensor_errors(float_tflite: bytes, quantized: bytes, images: np.ndarray, threads: int = 1) -> dict[str, dict]:
    """The validator's comparison of every activation tensor the two models name alike: name -> {metric: value}."""
    try:
        from litert_quantizer import model_validator
        from litert_quantizer.utils.validation_utils import ValidationErrorMetric as Metric, get_validation_func
    except ImportError as exc:
        raise LiteshipError("the per-op error needs LiteRT Quantizer, which is not installed",
                            f"{VALIDATOR} compares the two models tensor by tensor", INSTALL) from exc
    key, inputs = _signature(float_tflite)
    if _signature(quantized) != (key, inputs) or len(inputs) != 1:
        raise LiteshipError("the quantized model's signature is not the float model's",
                            f"the per-op error feeds both the same images through signature {key!r}, input "
                            f"{inputs}", "compare a variant with the float model it was made from")
    if not len(images):
        raise LiteshipError("no images to compare the models on", "the per-op error is measured on images",
                            "pass at least one image")
    metrics = [Metric.MSE, Metric.SNR, Metric.COSINE_SIMILARITY]
    data = {key: [{inputs[0]: pixels_to_float(images[i:i + 1])} for i in range(len(images))]}
    result = model_validator.compare_model(float_tflite, quantized, data, metrics,
                                           [_sized(get_validation_func(m)) for m in metrics], num_threads=threads)
    compared = result.get_signature_comparison_result(key)  # constants (weights) and the input left out
    return {name: values for part in (compared.intermediate_tensors, compared.output_tensors)
            for name, values in part.items() if all(math.isfinite(v) for v in values.values())}


def op_errors(float_tflite: bytes, quantized: bytes, images: np.ndarray, threads: int = 1) -> tuple[OpError, ...]:
    """Each op of ``quantized`` whose output the float model names, with its error on ``images`` (uint8 contract
    pixels, N x H x W x 3), in graph order."""
    by_name = tensor_errors(float_tflite, quantized, images, threads)
    made_by = {tensor: op for _, op, tensor in op_outputs(float_tflite)}
    return tuple(_error(i, op, tensor, by_name[tensor], made_by.get(tensor, op))
                 for i, op, tensor in op_outputs(quantized) if tensor in by_name)


def _error(index: int, op: str, tensor: str, values: dict, float_op: str) -> OpError:
    """The validator's numbers as an OpError; MSE 0 (the same output on every image) is an infinite SNR, where the
    validator's 1e-9 in the divisor gives a finite one."""
    mse = values["mse"]
    return OpError(index, op, tensor, mse, math.inf if mse == 0 else values["snr"], values["cosine_similarity"],
                   float_op=float_op if float_op != op else "")


def calibration_images(run_dir, model: str, n: int) -> np.ndarray:
    """``n`` of the images the recipes of ``model`` calibrate on (:meth:`RecipeData.calibration`: the same seeded
    order, so they are among the int8 recipe's), read from the run's split as optimize reads them."""
    from pathlib import Path

    from liteship.dataset import load_run_split
    from liteship.rundir import FLOAT, read_card
    from liteship.optimize.registry import RecipeData

    run_dir = Path(run_dir)
    card = read_card(run_dir / FLOAT / model)
    splits = load_run_split(run_dir, card["config"]["size"], model)
    return RecipeData(*splits["train"], *splits["val"], seed=card["config"]["seed"]).calibration(n)
