"""Determinism as an explicit option: TensorFlow's op determinism for one block, restored afterwards.

TensorFlow's switch is process-wide; a library must not leave it flipped for
its caller. Training and fine-tuning turn it on when asked (the CLI asks: the
same seed then gives the same weights, and the same variant IDs on any
executor). Conversion turns it off: the converter's output depends on the
switch (measured: a small CNN's int8 variant is 105,088 bytes with it off and
105,840 with it on), so a variant's bytes must not depend on what the caller
left switched on.
"""

from __future__ import annotations

from contextlib import contextmanager


@contextmanager
def op_determinism(on: bool | None):
    """Run the block with TensorFlow's op determinism ``on`` (True/False), then put it back; None: leave it."""
    if on is None:
        yield
        return
    from tensorflow.python.framework import config as tf_config  # the public alias has no getter or off switch

    was_on = tf_config.is_op_determinism_enabled()
    if on != was_on:
        tf_config.enable_op_determinism() if on else tf_config.disable_op_determinism()
    try:
        yield
    finally:
        if on != was_on:
            tf_config.enable_op_determinism() if was_on else tf_config.disable_op_determinism()


def when(deterministic: bool) -> bool | None:
    """The switch for a block that trains: on when asked, otherwise as the caller has it."""
    return True if deterministic else None
