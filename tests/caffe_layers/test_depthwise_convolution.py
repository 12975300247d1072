"""DepthwiseConvolution (yonghenglh6/DepthwiseConvolution, the MobileNet ports' type name) against a
loop written from the fork's Forward_cpu (BaseConvolutionLayer's grouped im2col GEMM: `group` and
`num_output` honoured) and OpenCV's Convolution, which is that same computation; and a caffemodel
holding such layers, converted and verified end to end (ONNX Runtime, PyTorch, OpenCV)."""

from __future__ import annotations

import numpy as np
import pytest

from caffe_layers.helpers import assert_close, make_layer, opencv_forward, run
from conftest import with_demo_weights
from converter.caffe.layers import LAYER_TYPES

DEPTHWISE = LAYER_TYPES["DepthwiseConvolution"]


def fork_loop(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, group: int, stride: int,
              pad: int) -> np.ndarray:
    """forward_cpu_gemm per group: output channel o of group g sums its filter's taps over the
    group's input channels; taps past the input read zero; then the bias."""
    n, c, h, w = x.shape
    num_output, per_group, kh, kw = weight.shape
    oh, ow = (h + 2 * pad - kh) // stride + 1, (w + 2 * pad - kw) // stride + 1
    y = np.zeros((n, num_output, oh, ow))
    outputs_per_group = num_output // group
    for o in range(num_output):
        first = (o // outputs_per_group) * per_group
        for i in range(oh):
            for j in range(ow):
                for k in range(per_group):
                    for a in range(kh):
                        for b in range(kw):
                            hi, wi = i * stride - pad + a, j * stride - pad + b
                            if 0 <= hi < h and 0 <= wi < w:
                                y[:, o, i, j] += weight[o, k, a, b] * x[:, first + k, hi, wi]
        if bias is not None:
            y[:, o] += bias[o]
    return y.astype(np.float32)


# (convolution_param, num_output, group, stride, pad, bias): MobileNet's form, then groups of two
# channels with two filters each (the CPU path honours any group).
CASES = {
    "mobilenet_dw": ("num_output: 4 group: 4 kernel_size: 3 stride: 2 pad: 1 bias_term: false", 4, 4, 2, 1, False),
    "two_channel_groups": ("num_output: 4 group: 2 kernel_size: 3 pad: 1", 4, 2, 1, 1, True),
}


@pytest.mark.parametrize("case", list(CASES))
def test_matches_the_fork_loop_and_opencv_convolution(tmp_path, case: str) -> None:
    params, num_output, group, stride, pad, has_bias = CASES[case]
    rng = np.random.default_rng(21)
    x = rng.standard_normal((2, 4, 6, 7)).astype(np.float32)
    weight = rng.standard_normal((num_output, 4 // group, 3, 3)).astype(np.float32)
    bias = rng.standard_normal(num_output).astype(np.float32) if has_bias else None
    blobs = [weight] + ([bias] if has_bias else [])
    text = f'name: "dw" type: "DepthwiseConvolution" bottom: "x" top: "dw" convolution_param {{ {params} }}'
    layer = make_layer(text, [x.shape], blobs)
    assert DEPTHWISE.blob_shapes(layer, [x.shape]) == [b.shape for b in blobs]
    (actual,) = run(layer, x)
    assert_close(actual, fork_loop(x, weight, bias, group, stride, pad))
    (expected,) = opencv_forward(tmp_path, text.replace('"DepthwiseConvolution"', '"Convolution"'), {"x": x}, blobs)
    assert_close(actual, expected)


def test_a_caffemodel_with_depthwise_convolutions_converts_and_verifies(tmp_path) -> None:
    # The weights come from the caffemodel by the type's blob shapes; OpenCV, which has no layer of
    # that name, is handed the layers as Convolution.
    from converter import pipeline

    conversion = pipeline.convert(*with_demo_weights(
        tmp_path, "mobilenet_block", 'input: "data" input_shape { dim: 1 dim: 3 dim: 9 dim: 9 }\n'
        'layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1" '
        'convolution_param { num_output: 6 kernel_size: 3 stride: 2 pad: 1 } }\n'
        'layer { name: "conv2/dw" type: "DepthwiseConvolution" bottom: "conv1" top: "conv2/dw" '
        'convolution_param { num_output: 6 group: 6 kernel_size: 3 pad: 1 bias_term: false } }\n'
        'layer { name: "conv2" type: "Convolution" bottom: "conv2/dw" top: "conv2" '
        'convolution_param { num_output: 5 kernel_size: 1 } }\n'))
    (dw,) = [layer for layer in conversion.net.layers if layer.type == "DepthwiseConvolution"]
    assert [b.shape for b in dw.blobs] == [(6, 1, 3, 3)]
    pipeline.emit(conversion)
    report = pipeline.run_verification(conversion, backends=("onnxruntime", "pytorch", "opencv"))
    rows = {(c.blob, c.backend) for c in report.comparisons if c.backend != "reference"}
    assert {("conv2/dw|conv2/dw", "onnxruntime"), ("conv2/dw|conv2/dw", "pytorch"),
            ("conv2|conv2", "opencv")} <= rows
    assert all(c.ok for c in report.comparisons), [c for c in report.comparisons if not c.ok]
