"""ConvolutionDepthwise (the ShuffleNet / MobileNet forks' conv_dw_layer.cpp) against OpenCV's
importer and a loop written from the fork's Forward_cpu."""

from __future__ import annotations

import numpy as np
import pytest

from caffe_layers.helpers import assert_close, make_layer, opencv_forward, run
from converter.caffe.layers import LAYER_TYPES

DEPTHWISE = LAYER_TYPES["ConvolutionDepthwise"]


def fork_loop(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, kernel: tuple, stride: tuple,
              pad: tuple, dilation: tuple) -> np.ndarray:
    """conv_dw_layer.cpp Forward_cpu: per channel, sum the taps that fall inside the input."""
    n, c, h, w = x.shape
    oh = (h + 2 * pad[0] - (dilation[0] * (kernel[0] - 1) + 1)) // stride[0] + 1
    ow = (w + 2 * pad[1] - (dilation[1] * (kernel[1] - 1) + 1)) // stride[1] + 1
    y = np.zeros((n, c, oh, ow))
    for ch in range(c):
        for i in range(oh):
            for j in range(ow):
                for kh in range(kernel[0]):
                    for kw in range(kernel[1]):
                        hi = -pad[0] + i * stride[0] + kh * dilation[0]
                        wi = -pad[1] + j * stride[1] + kw * dilation[1]
                        if 0 <= hi < h and 0 <= wi < w:
                            y[:, ch, i, j] += weight[ch, 0, kh, kw] * x[:, ch, hi, wi]
        if bias is not None:
            y[:, ch] += bias[ch]
    return y.astype(np.float32)


CASES = {
    "k3s2p1_no_bias": ("kernel_size: 3 stride: 2 pad: 1 bias_term: false", (3, 3), (2, 2), (1, 1), (1, 1), False),
    "k3s1p1_bias": ("kernel_size: 3 pad: 1", (3, 3), (1, 1), (1, 1), (1, 1), True),
    "rect_dilated": ("kernel_h: 3 kernel_w: 2 stride_h: 1 stride_w: 2 pad_h: 2 pad_w: 0 dilation: 2",
                     (3, 2), (1, 2), (2, 0), (2, 2), True),
}


@pytest.mark.parametrize("case", list(CASES))
def test_matches_the_fork_loop_and_opencv(tmp_path, case: str) -> None:
    params, kernel, stride, pad, dilation, has_bias = CASES[case]
    rng = np.random.default_rng(11)
    x = rng.standard_normal((2, 4, 7, 8)).astype(np.float32)
    weight = rng.standard_normal((4, 1, *kernel)).astype(np.float32)
    bias = rng.standard_normal(4).astype(np.float32) if has_bias else None
    blobs = [weight] + ([bias] if has_bias else [])
    # num_output and group as ShuffleNet v2 writes them: the fork ignores both.
    text = (f'name: "dw" type: "ConvolutionDepthwise" bottom: "x" top: "dw" '
            f'convolution_param {{ num_output: 4 {params} }}')
    layer = make_layer(text, [x.shape], blobs)
    assert DEPTHWISE.blob_shapes(layer, [x.shape]) == [b.shape for b in blobs]
    (actual,) = run(layer, x)
    assert_close(actual, fork_loop(x, weight, bias, kernel, stride, pad, dilation))
    (expected,) = opencv_forward(tmp_path, text, {"x": x}, blobs)
    assert_close(actual, expected)


def test_num_output_and_group_are_ignored() -> None:
    # The fork sizes weights and top by the bottom's channels, whatever convolution_param says.
    layer = make_layer('type: "ConvolutionDepthwise" top: "y" convolution_param { num_output: 7 group: 1 '
                       'kernel_size: 3 }')
    assert DEPTHWISE.output_shapes(layer, [(1, 5, 6, 6)]) == [(1, 5, 4, 4)]
    assert DEPTHWISE.blob_shapes(layer, [(1, 5, 6, 6)]) == [(5, 1, 3, 3), (5,)]


def test_opencv_is_wrong_on_a_map_one_row_high(tmp_path) -> None:
    # Why the opencv backend refuses such nets: OpenCV 4.14's padded 3x3 depthwise convolution on a
    # 1-row map (ShuffleNet v2's last stage below a 64x64 input) disagrees with the fork's loop,
    # which the reference executor follows.
    rng = np.random.default_rng(12)
    x = rng.standard_normal((1, 4, 1, 5)).astype(np.float32)
    weight = rng.standard_normal((4, 1, 3, 3)).astype(np.float32)
    text = ('name: "dw" type: "ConvolutionDepthwise" bottom: "x" top: "dw" '
            'convolution_param { num_output: 4 kernel_size: 3 pad: 1 bias_term: false }')
    expected = fork_loop(x, weight, None, (3, 3), (1, 1), (1, 1), (1, 1))
    (actual,) = run(make_layer(text, [x.shape], [weight]), x)
    assert_close(actual, expected)
    (opencv,) = opencv_forward(tmp_path, text, {"x": x}, [weight])
    assert not np.allclose(opencv, expected, atol=1e-3)
