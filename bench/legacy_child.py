"""Runs inside an isolated tflite-runtime environment (older numpy, no liteship): load, allocate, invoke.

Reads one JSON request on stdin ({"model", "inputs", "outputs"}: paths), feeds the .npy inputs one image
at a time, saves the raw outputs as .npy, and prints one JSON line: {"loaded", "error", "version"}.
Speaks only JSON and .npy files: no pickles of interpreter objects cross the process boundary.
"""

import json
import sys


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
    inputs = np.load(request["inputs"])
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    outputs = []
    for i in range(len(inputs)):
        interp.set_tensor(inp["index"], inputs[i:i + 1])
        interp.invoke()
        outputs.append(interp.get_tensor(out["index"])[0].copy())
    np.save(request["outputs"], np.stack(outputs))
    print(json.dumps({"loaded": True, "error": None, "version": version}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
