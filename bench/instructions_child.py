"""Run under valgrind by liteship.bench.instructions: load a model, feed one input, invoke it N times.

Only the instructions inside the Interpreter's Invoke are counted (callgrind's --toggle-collect), so
what this script does around the invokes does not change the count.
"""

import sys

import numpy as np
from ai_edge_litert.interpreter import Interpreter


def mid_grey(detail: dict):
    """Mid-grey (0.5 of the [0, 1] range) as the input tensor takes it, per the input contract: 0.5 for a float
    input, else 0.5 quantized with the tensor's scale and zero point (128 for a uint8 input of scale 1/255, 0 for an
    int8 one of zero point -128), clipped to its dtype's range; without a scale, the raw byte 128 for uint8, else 0."""
    dtype = np.dtype(detail["dtype"])
    if dtype.kind == "f":
        return 0.5
    if dtype.kind not in "iu":
        return 0
    scale, zero_point = detail.get("quantization", (0.0, 0))
    value = int(np.rint(0.5 / scale)) + int(zero_point) if scale else (128 if dtype == np.uint8 else 0)
    info = np.iinfo(dtype)
    return int(np.clip(value, info.min, info.max))


def main() -> int:
    path, invokes = sys.argv[1], int(sys.argv[2])
    interp = Interpreter(model_path=path, num_threads=1)
    interp.allocate_tensors()
    detail = interp.get_input_details()[0]
    interp.set_tensor(detail["index"], np.full(detail["shape"], mid_grey(detail), dtype=detail["dtype"]))
    for _ in range(invokes):
        interp.invoke()
    return 0


if __name__ == "__main__":
    sys.exit(main())
