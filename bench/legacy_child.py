"""Runs inside an isolated tflite-runtime environment (older numpy, no liteship): load, allocate, invoke.

Reads one JSON request on stdin ({"model", "inputs", "outputs"}: paths), feeds the .npy inputs one image
at a time (read one at a time: the test split is never held whole), saves the raw outputs as .npy, and prints
one JSON line: {"loaded", "error", "version"}.
Speaks only JSON and .npy files: no pickles of interpreter objects cross the process boundary.
"""

import json
import sys


def images(path):
    """The .npy file's images one at a time (1, H, W, C), never the whole file in memory (numpy's own .npy
    header readers, which every numpy since 1.0 has)."""
    import numpy as np
    from numpy.lib import format as npy

    with open(path, "rb") as fh:
        version = npy.read_magic(fh)
        read_header = npy.read_array_header_1_0 if version == (1, 0) else npy.read_array_header_2_0
        shape, _, dtype = read_header(fh)
        width = int(np.prod(shape[1:], dtype=np.int64)) * dtype.itemsize
        for _ in range(shape[0]):
            yield np.frombuffer(bytearray(fh.read(width)), dtype).reshape((1, *shape[1:]))


def main() -> int:
    request = json.loads(sys.stdin.read())
    import numpy as np
    import tflite_runtime
    from tflite_runtime.interpreter import Interpreter

    version = getattr(tflite_runtime, "__version__", "unknown")
    try:
        interp = Interpreter(model_path=request["model"])
        interp.allocate_tensors()
    except Exception as exc:  # the runtime's own words: which op and version it lacks
        print(json.dumps({"loaded": False, "error": str(exc).strip(), "version": version}))
        return 0
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    outputs = []
    for image in images(request["inputs"]):
        interp.set_tensor(inp["index"], image)
        interp.invoke()
        outputs.append(interp.get_tensor(out["index"])[0].copy())
    np.save(request["outputs"], np.stack(outputs))
    print(json.dumps({"loaded": True, "error": None, "version": version}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
