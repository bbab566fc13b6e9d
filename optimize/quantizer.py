"""LiteRT Quantizer (``litert-quantizer``): a float32 .tflite, a recipe and calibration images -> a quantized .tflite.

Google's LiteRT documentation points post-training quantization to LiteRT Quantizer (the renamed ai-edge-quantizer):
export the float32 .tflite, then quantize it with a recipe. Here a recipe is the quantizer's own JSON form, a list of
``{regex, operation, algorithm_key, op_config}`` entries, built from the recipes it ships (``litert_quantizer.recipe``)
with entries added for the graph's input and output (its ``INPUT`` and ``OUTPUT`` ops), so the file keeps the app's
input contract:

- a uint8 or int8 input: the ``INPUT`` op takes the contract's type, asymmetric, and the input tensor's calibration
  range is set to what raw bytes mean, [0, 1] (value = byte / 255), instead of the range the calibration images
  happened to reach: the quantizer then gives the input exactly scale 1/255 and zero point 0 (uint8) or -128 (int8),
  with a QUANTIZE to the graph's int8 after a uint8 input;
- a float input or output: the ``INPUT`` or ``OUTPUT`` op is left unquantized (``no_quantize``).

An op is kept in float by one more entry, ``no_quantize`` for that op alone (:func:`keepable`). A static recipe is
calibrated once (:func:`calibrate`) and may be quantized with several recipes from those ranges.

What the quantizer writes is then put in the form the rest of liteship reads (:func:`_settled`): weights inside the
flatbuffer (it stores large buffers after the flatbuffer, by offset, which liteship's readers and the record's facts
do not follow), without the float model's ``min_runtime_version`` (it copies the float model's metadata, and that
minimum is not the quantized graph's: the op-version table and a real load in ``--target-runtime`` judge it), and
with int16 ADD and SUB told their scales are not powers of two (it leaves the schema's default, ``pot_scale_int16``
true, for which LiteRT's int16 ADD refuses calibrated scales: "input1_shift <= 0 was not true").

TensorFlow is not imported here: the quantizer runs on LiteRT alone.
"""

from __future__ import annotations

import warnings
from importlib import metadata

import numpy as np

from liteship.contract import pixels_to_float
from liteship.tflite_file import io_specs, op_name, read_model, set_input_quantization, write_model

from liteship.optimize.op_versions import set_versions, uncovered

DIST = "litert-quantizer"
BLOCK_SIZES = (32, 64, 128, 256)  # the quantizer's blockwise granularities (its QuantGranularity.BLOCKWISE_*)
# What raw bytes mean under the input contract: value = byte / 255, so [0, 1]; a uint8 input's zero point is 0, an
# int8 input's -128 (bytes - 128).
CONTRACT_RANGE = (0.0, 1.0)
CONTRACT_ZERO_POINT = {"uint8": 0, "int8": -128}
_UNQUANTIZED = "no_quantize"
_MIN_MAX = "min_max_uniform_quantize"
# The recipe form requires a weight config in every entry; the INPUT and OUTPUT ops have no weights to apply it to.
_INT8_WEIGHTS = {"num_bits": 8, "symmetric": True, "granularity": "CHANNELWISE", "dtype": "INT"}


# The recipes LiteRT Quantizer makes (convert.py, selective.py, auto.py's int8 step), and how to install it: optimize
# refuses them before any work when it is missing, where each would load TensorFlow and fail with an ImportError.
RECIPES = ("dynamic", "int8", "int16x8", "int4_weights", "selective_int8", "auto_int8")
INSTALL = "pip install 'liteship[train]'"


def unavailable(names) -> list[str]:
    """Which of the recipes ``names`` cannot be made here because LiteRT Quantizer is not installed (found without
    importing it: its import takes seconds)."""
    from importlib.util import find_spec

    return [] if find_spec("litert_quantizer") is not None else [n for n in names if n in RECIPES]


def problems(names, where: str = "--recipes", key: str | None = None) -> list:
    """The refusal of the recipes of ``names`` LiteRT Quantizer makes, when it is not installed; ``where`` and
    ``key`` name the flag or config key they came from. The recipes are named in the text too, since a Python
    caller's message shows the value as the caller wrote it (``("all",)``)."""
    from liteship.config import Problem

    unmade = unavailable(names)
    if not unmade:
        return []
    kept = [n for n in names if n not in unmade]
    if not kept:
        from liteship.optimize import list_recipes

        kept = [r.name for r in list_recipes() if r.name not in RECIPES]
    return [Problem(where, key, ",".join(unmade), f"LiteRT Quantizer (litert-quantizer) makes {', '.join(unmade)} "
                    "and is not installed", f"{INSTALL}, or leave them out (the converter makes "
                    f"{', '.join(kept)})")]


def version() -> str | None:
    """The installed litert-quantizer's version, or None."""
    try:
        return metadata.version(DIST)
    except metadata.PackageNotFoundError:
        return None


def maker() -> str:
    """Who made a quantizer-made variant, for its record."""
    return f"{DIST} {version()}"


def facts(tflite: bytes) -> dict:
    """What a quantizer-made variant's record says of how it was made: the maker, and any op whose version no rule
    of :mod:`.op_versions` set (the quantizer's, the float model's: the op-version table cannot be trusted on it)."""
    unset = uncovered(tflite)
    return {"maker": maker(), **({"op_versions_not_set": unset} if unset else {})}


def _io_entry(operation: str, io: str) -> dict:
    """The recipe entry that gives the graph's ``INPUT`` or ``OUTPUT`` op the type ``io`` (uint8, int8, float)."""
    if io == "float":
        return {"regex": ".*", "operation": operation, "algorithm_key": _UNQUANTIZED, "op_config": {}}
    tensor = {"num_bits": 8, "symmetric": False, "granularity": "TENSORWISE", "dtype": "UINT" if io == "uint8" else "INT"}
    return {"regex": ".*", "operation": operation, "algorithm_key": _MIN_MAX,
            "op_config": {"activation_tensor_config": tensor, "weight_tensor_config": _INT8_WEIGHTS,
                          "compute_precision": "INTEGER", "explicit_dequantize": False}}


def static_int8(io: str) -> list[dict]:
    """``static_wi8_ai8`` (int8 weights per channel, int8 activations) with the app's input and output types."""
    from litert_quantizer import recipe

    return list(recipe.static_wi8_ai8()) + [_io_entry("INPUT", io), _io_entry("OUTPUT", io)]


def dynamic_int8() -> list[dict]:
    """``dynamic_wi8_afp32``: int8 weights per channel, float activations (quantized on the fly by the kernels)."""
    from litert_quantizer import recipe

    return list(recipe.dynamic_wi8_afp32())


def int16x8() -> list[dict]:
    """``static_wi8_ai16`` (int8 weights per channel, int16 activations), with a float input and output: the
    contract has no int16 tensor, and a uint8 input would need a QUANTIZE from uint8 to int16, which LiteRT 2.3 runs
    but TFLite 2.14 refuses ("output->type == kTfLiteUInt8 || output->type == kTfLiteInt8 was not true")."""
    from litert_quantizer import recipe

    return list(recipe.static_wi8_ai16()) + [_io_entry("INPUT", "float"), _io_entry("OUTPUT", "float")]


def int4_weights(block_size: int, min_weight_elements: int) -> list[dict]:
    """int4 weights, stored in the file and dequantized to float32 when the model loads (float math); a layer with
    fewer than ``min_weight_elements`` weights keeps them in float (the quantizer's own threshold option):

    - CONV_2D and FULLY_CONNECTED: int4 per output channel, weight-only (``weight_only_wi4_afp32``);
    - with ``block_size`` (32, 64, 128 or 256; 0: none), FULLY_CONNECTED instead takes int4 in blocks of that many
      inputs, through the quantizer's dynamic blockwise recipe (``dynamic_wi4b32_afp32``: its kernel quantizes its
      input on the fly), the one way it makes blocks that LiteRT reads;
    - DEPTHWISE_CONV_2D: int8 per channel, weight-only: the quantizer has no int4 entry for it.

    Blocks only for FULLY_CONNECTED, and not by default, because of what was measured with litert-quantizer 0.11.0,
    LiteRT 2.3 and MediaPipe 0.10.21: the quantizer makes int4 blocks for FULLY_CONNECTED and EMBEDDING_LOOKUP only
    (its policy has none for CONV_2D, and with its check skipped it fails on a convolution's weights); weight-only
    blocks are outside its policy, and LiteRT's DEQUANTIZE reads them as zeros (the digits small_cnn: top-1 0.09,
    float's 0.98); and MediaPipe's metadata writer drops the blocks' scales, after which LiteRT refuses the file
    ("Blockwise quantization details are missing"), so a blockwise variant ships without TFLite metadata
    (:func:`metadata_refusal`). A CNN's dense layer holds a few percent of its weights, so blocks change its size
    and accuracy little.
    """
    def entry(operation: str, bits: int, granularity: str = "CHANNELWISE", weight_only: bool = True) -> dict:
        return {"regex": ".*", "operation": operation, "algorithm_key": _MIN_MAX, "op_config": {
            "weight_tensor_config": {"num_bits": bits, "symmetric": True, "granularity": granularity, "dtype": "INT"},
            "compute_precision": "FLOAT" if weight_only else "INTEGER", "explicit_dequantize": weight_only,
            "min_weight_elements": min_weight_elements}}

    dense = entry("FULLY_CONNECTED", 4, f"BLOCKWISE_{block_size}", weight_only=False) if block_size else \
        entry("FULLY_CONNECTED", 4)
    return [entry("CONV_2D", 4), entry("DEPTHWISE_CONV_2D", 8), dense]


def metadata_refusal(tflite: bytes) -> str | None:
    """Why MediaPipe's metadata writer cannot be given this file, or None: its flatbuffer schema predates blockwise
    quantization, and it writes the file back without the blocks' scales."""
    from ai_edge_litert import schema_py_generated as schema

    model = read_model(tflite)
    blocked = [t for t in model.subgraphs[0].tensors or [] if t.quantization is not None
               and t.quantization.detailsType == schema.QuantizationDetails.BlockwiseQuantization]
    if not blocked:
        return None
    return (f"{len(blocked)} tensor(s) hold int4 weights in blocks, whose scales MediaPipe's metadata writer drops "
            "(its schema predates them), after which LiteRT refuses the file: shipped without TFLite metadata")


class _Samples:
    """Calibration samples as the quantizer takes them, one contract image at a time as the float model takes it
    (bytes / 255), made as they are read; read more than once (the quantizer counts them first)."""

    def __init__(self, name: str, images: np.ndarray):
        self.name, self.images = name, images

    def __len__(self) -> int:
        return len(self.images)

    def __iter__(self):
        for i in range(len(self.images)):
            yield {self.name: pixels_to_float(self.images[i:i + 1])}


def keepable(float_tflite: bytes) -> dict[str, dict]:
    """The ops of ``float_tflite`` that a recipe can leave in float, by their first output tensor's name: for each,
    the recipe entry that does it. The quantizer matches an entry's ``regex`` (``re.search``) against an op's scope,
    its output tensor names each followed by ';', and takes the last entry that matches the op's type; so the entry
    is the op's whole scope, escaped and anchored, with the op's own type (with ``*`` it would also match the graph's
    ``OUTPUT`` op when the op makes the graph's output, whose scope is the same name: the output would turn float).
    Read with the quantizer's own flatbuffer reader, scope and op names; an op it does not know is left out (it never
    quantizes one)."""
    import re

    from litert_quantizer.utils import tfl_flatbuffer_utils as tfl

    model = tfl.read_model(float_tflite)
    sg, out = model.subgraphs[0], {}
    for op in sg.operators:
        operation = tfl.TFL_OP_CODE_TO_NAME.get(model.operatorCodes[op.opcodeIndex].builtinCode)
        names = [tfl.get_tensor_name(sg.tensors[i]) for i in op.outputs if i != -1]
        if operation is not None and names and names[0]:
            out.setdefault(names[0], {"regex": f"^{re.escape(tfl.get_op_scope(op, sg.tensors))}$",
                                      "operation": str(operation.value), "algorithm_key": _UNQUANTIZED,
                                      "op_config": {}})
    return out


def calibrate(float_tflite: bytes, recipe: list[dict], calibration: np.ndarray) -> dict:
    """The quantizer's calibration of ``float_tflite`` under ``recipe`` on ``calibration`` (uint8 contract images,
    N x S x S x 3): each tensor's range, the input's set to what the contract's bytes mean."""
    from ai_edge_litert.interpreter import Interpreter
    from litert_quantizer import Quantizer

    if calibration is None or not len(calibration):
        raise ValueError("this recipe quantizes activations: it needs calibration images")
    signature, io = next(iter(Interpreter(model_content=float_tflite).get_signature_list().items()))
    with warnings.catch_warnings():  # LiteRT's note that keeping every tensor is for debugging: it is, here
        warnings.filterwarnings("ignore", message=".*experimental_preserve_all_tensors", category=UserWarning)
        ranges = Quantizer(float_tflite, recipe).calibrate({signature: _Samples(io["inputs"][0], calibration)},
                                                           num_threads=1)
    for spec in io_specs(read_model(float_tflite))[0]:  # what the app's bytes can mean, not what they did
        if spec.name in ranges:
            low, high = ranges[spec.name]["min"], ranges[spec.name]["max"]
            ranges[spec.name] = {**ranges[spec.name], "min": np.full_like(low, CONTRACT_RANGE[0]),
                                 "max": np.full_like(high, CONTRACT_RANGE[1])}
    return ranges


def quantize(float_tflite: bytes, recipe: list[dict], calibration: np.ndarray | None = None,
             ranges: dict | None = None) -> bytes:
    """``float_tflite`` quantized by LiteRT Quantizer with ``recipe``; a static recipe needs ``calibration`` (uint8
    contract images, N x S x S x 3) or the ``ranges`` :func:`calibrate` made of them (calibrated once, quantized with
    several recipes). A quantized input gets the contract's scale and zero point."""
    from litert_quantizer import Quantizer

    quantizer = Quantizer(float_tflite, recipe)
    if quantizer.need_calibration and ranges is None:
        ranges = calibrate(float_tflite, recipe, calibration)
    result = quantizer.quantize(ranges if quantizer.need_calibration else None, enable_progress_bar=False,
                                enable_progress_report=False)
    return _settled(bytes(result.quantized_model))


def _settled(data: bytes) -> bytes:
    """The quantizer's file in the form the converter writes and liteship reads (see the module's docstring), its op
    versions set from its tensor types (:mod:`.op_versions`), its quantized input at exactly the contract's scale."""
    from ai_edge_litert import schema_py_generated as schema
    from ai_edge_litert.tools import flatbuffer_utils

    # Buffers stored after the flatbuffer by offset, read back into it (the file stays under 2 GB).
    data = bytes(flatbuffer_utils.convert_object_to_bytearray(flatbuffer_utils.read_model_from_bytearray(
        bytearray(data))))
    model = read_model(data, "the quantizer's model")
    model.metadata = [md for md in model.metadata or [] if md.name != b"min_runtime_version"] or None
    sg = model.subgraphs[0]
    for op in sg.operators or []:
        name = op_name(model, op)
        if name in ("ADD", "SUB") and sg.tensors[op.outputs[0]].type == schema.TensorType.INT16:
            if op.builtinOptions is None:
                op.builtinOptionsType = getattr(schema.BuiltinOptions, f"{name.title()}Options")
                op.builtinOptions = getattr(schema, f"{name.title()}OptionsT")()
            op.builtinOptions.potScaleInt16 = False
    data = set_versions(write_model(model))
    return _contract_input(data)


def _contract_input(data: bytes) -> bytes:
    """A uint8 or int8 input at exactly scale 1/255 and the contract's zero point. The pinned range gives it already;
    where float32 rounding says otherwise, the input is set to it, which needs a QUANTIZE after it
    (``tflite_file.set_input_quantization`` refuses anything else)."""
    spec = io_specs(read_model(data))[0][0]
    want = CONTRACT_ZERO_POINT.get(spec.dtype)
    if want is None or (spec.scale == (float(np.float32(1 / 255)),) and spec.zero_point == (want,)):
        return data
    return set_input_quantization(data, 1.0 / 255.0, want)
