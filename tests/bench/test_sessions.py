"""LiteRT sessions: the CompiledModel path times what it says (batch 1 after a batched accuracy pass)."""

import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter

from liteship.bench import backends


def _interpreter_probs(path, image: np.ndarray) -> np.ndarray:
    """An independent path: the plain Interpreter, fed bytes / 255 by hand."""
    interp = Interpreter(model_path=str(path))
    interp.allocate_tensors()
    interp.set_tensor(interp.get_input_details()[0]["index"], image[None].astype(np.float32) / np.float32(255))
    interp.invoke()
    return interp.get_tensor(interp.get_output_details()[0]["index"])


@pytest.mark.parametrize("backend", ["xnnpack-cm", "fp16", "xnnpack"])
def test_back_to_batch_one_after_a_batched_pass(optimized_run, backend):
    out, variants = optimized_run
    path = out / variants["float32"]["file"]
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (40, 32, 32, 3), dtype=np.uint8)
    session = backends.get(backend).open(str(path), 1)
    assert session.predict(images, batch=16).shape == (40, 10)
    session.resize(1)
    session.set_input(session.feed(images[:1]))
    session.invoke()
    probs = session.output()
    assert probs.shape == (1, 10)  # before the fix the CompiledModel kept [16, 10] buffers and timed 16 images
    if hasattr(session, "outputs"):
        assert list(session.outputs[0].get_tensor_details()["shape"]) == [1, 10]
    np.testing.assert_allclose(probs, _interpreter_probs(path, images[0]), atol=2e-2 if backend == "fp16" else 1e-5)
