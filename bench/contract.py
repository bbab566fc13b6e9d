"""The contract check: does a variant take and give what the app expects (the input contract, ARCHITECTURE.md)?"""

from __future__ import annotations

import numpy as np

from liteship.tflite_file import io_specs

ONE_OVER_255 = float(np.float32(1 / 255))


def check_contract(model, num_labels: int | None) -> dict:
    """Problems with the input/output tensors; ``ok`` when there are none."""
    inputs, outputs = io_specs(model)
    problems = []
    if len(inputs) != 1:
        problems.append(f"expected 1 input tensor, found {len(inputs)}")
    if len(outputs) != 1:
        problems.append(f"expected 1 output tensor, found {len(outputs)}")
    if inputs:
        inp = inputs[0]
        if len(inp.shape) != 4 or inp.shape[-1] != 3 or inp.shape[1] != inp.shape[2]:
            problems.append(f"input shape {list(inp.shape)} is not [1, S, S, 3]")
        if inp.dtype == "float32":
            if inp.scale:
                problems.append("float32 input carries quantization parameters")
        elif inp.dtype in ("uint8", "int8"):
            want_zp = 0 if inp.dtype == "uint8" else -128
            if inp.scale != (ONE_OVER_255,) or inp.zero_point != (want_zp,):
                problems.append(f"{inp.dtype} input has scale {inp.scale} and zero point {inp.zero_point}, "
                                f"not 1/255 and {want_zp}: raw camera bytes would not mean what the float model saw")
        else:
            problems.append(f"input dtype {inp.dtype} is not float32, uint8 or int8")
    if outputs:
        out = outputs[0]
        if out.dtype not in ("float32", "uint8", "int8"):
            problems.append(f"output dtype {out.dtype} is not float32 or uint8")
        if num_labels is not None and (not out.shape or out.shape[-1] != num_labels):
            problems.append(f"output has {out.shape[-1] if out.shape else 0} classes but labels.txt has {num_labels}")
    return {
        "ok": not problems,
        "problems": problems,
        "input": {"dtype": inputs[0].dtype, "shape": list(inputs[0].shape), "scale": list(inputs[0].scale),
                  "zero_point": list(inputs[0].zero_point)} if inputs else None,
        "output": {"dtype": outputs[0].dtype, "shape": list(outputs[0].shape)} if outputs else None,
    }


def input_size(model) -> int | None:
    """S of a [1, S, S, 3] input, or None when the input is not image-shaped."""
    inputs, _ = io_specs(model)
    shape = inputs[0].shape if inputs else ()
    return int(shape[1]) if len(shape) == 4 and shape[1] == shape[2] and shape[1] > 0 else None
