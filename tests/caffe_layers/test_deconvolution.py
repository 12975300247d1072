"""Deconvolution (absent from the golden cases): against OpenCV, and dilation by hand (OpenCV ignores it)."""

from __future__ import annotations

import numpy as np
import pytest

from caffe_layers.helpers import assert_close, make_layer, opencv_forward, run
from converter.caffe.layers import LAYER_TYPES
from converter.errors import ModelError

DECONV = LAYER_TYPES["Deconvolution"]


@pytest.mark.parametrize(
    "params",
    [
        "num_output: 6 kernel_size: 3 stride: 2 pad: 1 group: 2",
        "num_output: 3 kernel_h: 2 kernel_w: 3 stride_h: 3 stride_w: 2 pad_h: 1 pad_w: 0",
        "num_output: 3 kernel_size: 2 kernel_size: 3 stride: 3 stride: 2 pad: 1 pad: 0 bias_term: false",
        "num_output: 4 kernel_size: 3 group: 4",
        "num_output: 8 kernel_size: 4 stride: 2 pad: 1 group: 4",  # bilinear-upsampling style
    ],
)
def test_matches_opencv(tmp_path, params: str) -> None:
    rng = np.random.default_rng(13)
    x = rng.standard_normal((2, 4, 5, 6)).astype(np.float32)
    text = f'name: "d" type: "Deconvolution" bottom: "x" top: "d" convolution_param {{ {params} }}'
    layer = make_layer(text)
    layer.blobs = [rng.standard_normal(s).astype(np.float32) for s in DECONV.blob_shapes(layer, [x.shape])]
    (expected,) = opencv_forward(tmp_path, text, {"x": x}, layer.blobs)
    (actual,) = run(layer, x)
    assert_close(actual, expected)


def test_dilation_by_hand() -> None:
    # OpenCV's importer ignores dilation for Deconvolution. One 2-pixel row, kernel 1x2 with dilation 2,
    # stride 1: each pixel scatters w0 at its own column and w1 two columns right; width (2-1) + 3 = 4.
    layer = make_layer('type: "Deconvolution" top: "y" convolution_param { num_output: 1 kernel_h: 1 kernel_w: 2 '
                       'dilation: 2 }', blobs=[np.array([10, 1], np.float32).reshape(1, 1, 1, 2), [0.5]])
    (y,) = run(layer, np.array([1, 2], np.float32).reshape(1, 1, 1, 2))
    np.testing.assert_array_equal(y.ravel(), [10.5, 20.5, 1.5, 2.5])


def test_shapes() -> None:
    layer = make_layer('type: "Deconvolution" top: "y" convolution_param { num_output: 6 kernel_size: 3 stride: 2 '
                       'pad: 1 dilation: 2 group: 3 }')
    # out = 2 * (in - 1) + (2 * 2 + 1) - 2 = 2 * in + 1; weights (channels, num_output / group, k, k)
    assert DECONV.output_shapes(layer, [(1, 9, 4, 7)]) == [(1, 6, 9, 15)]
    assert DECONV.blob_shapes(layer, [(1, 9, 4, 7)]) == [(9, 2, 3, 3), (6,)]


@pytest.mark.parametrize(
    ("params", "bottoms"),
    [
        ("num_output: 2 kernel_size: 1 pad: 1", [(1, 3, 1, 4)]),  # pad crops everything
        ("num_output: 4 kernel_size: 3 group: 2", [(1, 3, 4, 4)]),
        ("num_output: 3 kernel_size: 3 group: 2", [(1, 4, 4, 4)]),
        ("num_output: 4", [(1, 4, 4, 4)]),
    ],
)
def test_rejects_impossible_configurations(params: str, bottoms: list) -> None:
    layer = make_layer(f'name: "up" type: "Deconvolution" top: "y" convolution_param {{ {params} }}')
    with pytest.raises(ModelError, match="up"):
        DECONV.output_shapes(layer, bottoms)
