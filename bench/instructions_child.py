"""Run under valgrind by liteship.bench.instructions: load a model, feed one input, invoke it N times.

Only the instructions inside the Interpreter's Invoke are counted (callgrind's --toggle-collect), so
what this script does around the invokes does not change the count.
"""

import sys

import numpy as np
from ai_edge_litert.interpreter import Interpreter


def main() -> int:
    path, invokes = sys.argv[1], int(sys.argv[2])
    interp = Interpreter(model_path=path, num_threads=1)
    interp.allocate_tensors()
    detail = interp.get_input_details()[0]
    value = 0.5 if detail["dtype"] == np.float32 else 128  # mid-grey, per the input contract
    interp.set_tensor(detail["index"], np.full(detail["shape"], value, dtype=detail["dtype"]))
    for _ in range(invokes):
        interp.invoke()
    return 0


if __name__ == "__main__":
    sys.exit(main())
