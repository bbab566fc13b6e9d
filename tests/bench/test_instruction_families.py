"""Which kernel family an x86 count's function goes to: names written by hand as callgrind prints LiteRT's symbols."""

import pytest

from liteship.bench.instructions import family


@pytest.mark.parametrize("function, expected", [
    # int8 HARD_SWISH's work is done in the shared reference kernel, not under ops::builtin (over half of a
    # MobileNetV3Small int8 count): it was labelled "other (runtime bookkeeping, copies)"
    ("void tflite::reference_ops::HardSwish<signed char>(tflite::HardSwishParams const&, tflite::RuntimeShape "
     "const&, signed char const*, tflite::RuntimeShape const&, signed char*)", "builtin HARD_SWISH"),
    ("void tflite::optimized_ops::Softmax(tflite::SoftmaxParams const&, ...)", "builtin SOFTMAX"),
    ("tflite::reference_integer_ops::DepthwiseConvPerChannel(...)", "builtin DEPTHWISE_CONV_PER_CHANNEL"),
    ("TfLiteStatus tflite::ops::builtin::add::Eval<(tflite::ops::builtin::add::KernelType)1>(...)", "builtin ADD"),
    ("xnn_f32_gemm_minmax_ukernel_4x8__fma3_broadcast", "gemm (CONV_2D, FULLY_CONNECTED)"),
    ("memcpy", "other (runtime bookkeeping, copies)"),
])
def test_family(function, expected):
    assert family(function) == expected
