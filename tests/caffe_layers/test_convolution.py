"""Convolution against BVLC Caffe (golden: plain, strided, rectangular, grouped, depthwise, dilated) and OpenCV."""

from __future__ import annotations

import numpy as np
import pytest

from caffe_layers.helpers import assert_close, check_golden, golden_layers, make_layer, opencv_forward, run
from converter.caffe.layers import LAYER_TYPES
from converter.errors import ModelError

CONV = LAYER_TYPES["Convolution"]


@pytest.mark.parametrize(("case", "name"), golden_layers("Convolution"))
def test_matches_caffe(case: str, name: str) -> None:
    check_golden(case, name)


@pytest.mark.parametrize(
    "params",
    [
        "num_output: 6 kernel_size: 3 group: 3 pad: 1",  # depthwise with channel multiplier 2
        "num_output: 3 kernel_size: 3 group: 3 stride: 2 dilation: 2 pad: 2 bias_term: false",
        "num_output: 4 kernel_h: 2 kernel_w: 4 stride_h: 3 stride_w: 2 pad_h: 0 pad_w: 3",
        "num_output: 4 kernel_size: 3 kernel_size: 1 stride: 1 stride: 2 pad: 1 pad: 0 dilation: 1 dilation: 3",
    ],
)
def test_matches_opencv(tmp_path, params: str) -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 9, 11)).astype(np.float32)
    layer = make_layer(f'name: "c" type: "Convolution" bottom: "x" top: "c" convolution_param {{ {params} }}',
                       [x.shape])
    blobs = [rng.standard_normal(s).astype(np.float32) for s in CONV.blob_shapes(layer, [x.shape])]
    layer.blobs = blobs
    (expected,) = opencv_forward(tmp_path, layer.param.__str__(), {"x": x}, blobs)
    (actual,) = run(layer, x)
    assert_close(actual, expected)


def test_hand_computed_values() -> None:
    x = np.arange(1, 10, dtype=np.float32).reshape(1, 1, 3, 3)
    layer = make_layer('type: "Convolution" bottom: "x" top: "y" convolution_param { num_output: 2 kernel_size: 2 }',
                       blobs=[np.array([1, 0, 0, 1, 0, 1, 1, 0], np.float32).reshape(2, 1, 2, 2), [0.5, -1]])
    (y,) = run(layer, x)
    # Filter 0 adds the diagonal x[i,j] + x[i+1,j+1], filter 1 the anti-diagonal, plus the biases.
    np.testing.assert_array_equal(y[0, 0], [[6.5, 8.5], [12.5, 14.5]])
    np.testing.assert_array_equal(y[0, 1], [[5, 7], [11, 13]])


def test_blob_shapes_follow_group_and_bias_term() -> None:
    layer = make_layer('type: "Convolution" top: "y" convolution_param { num_output: 8 kernel_h: 3 kernel_w: 1 '
                       'group: 2 bias_term: false }')
    assert CONV.blob_shapes(layer, [(1, 6, 5, 5)]) == [(8, 3, 3, 1)]
    layer = make_layer('type: "Convolution" top: "y" convolution_param { num_output: 8 kernel_size: 3 }')
    assert CONV.blob_shapes(layer, [(1, 6, 5, 5)]) == [(8, 6, 3, 3), (8,)]


def test_output_shape_formula() -> None:
    layer = make_layer('type: "Convolution" top: "y" convolution_param { num_output: 5 kernel_size: 3 stride: 2 '
                       'pad: 1 dilation: 2 }')
    # floor((20 + 2 - 5) / 2) + 1 = 9 and floor((7 + 2 - 5) / 2) + 1 = 3
    assert CONV.output_shapes(layer, [(2, 4, 20, 7)]) == [(2, 5, 9, 3)]


@pytest.mark.parametrize(
    ("params", "bottoms"),
    [
        ("num_output: 4 kernel_size: 5", [(1, 3, 4, 8)]),  # kernel larger than the input
        ("num_output: 4 kernel_size: 3 dilation: 3", [(1, 3, 6, 6)]),  # dilated extent 7 > 6
        ("num_output: 4 kernel_size: 3 group: 2", [(1, 3, 8, 8)]),  # channels not divisible by group
        ("num_output: 4 kernel_size: 3 group: 3", [(1, 6, 8, 8)]),  # num_output not divisible by group
        ("num_output: 4 kernel_size: 3 kernel_h: 3 kernel_w: 3", [(1, 3, 8, 8)]),  # both kernel forms
        ("num_output: 4 kernel_h: 3", [(1, 3, 8, 8)]),  # kernel_w missing -> 0
        ("num_output: 4 kernel_size: 0", [(1, 3, 8, 8)]),
        ("num_output: 4", [(1, 3, 8, 8)]),  # no kernel at all
        ("num_output: 0 kernel_size: 1", [(1, 3, 8, 8)]),
        ("num_output: 4 kernel_size: 3 stride: 0", [(1, 3, 8, 8)]),
        ("num_output: 4 kernel_size: 1", []),  # no bottom
        ("num_output: 4 kernel_size: 1", [(1, 3, 8)]),  # not 4-D
        ("num_output: 4 kernel_size: 1 kernel_size: 1 kernel_size: 1", [(1, 3, 8, 8)]),
    ],
)
def test_rejects_impossible_configurations(params: str, bottoms: list) -> None:
    layer = make_layer(f'name: "bad" type: "Convolution" top: "y" convolution_param {{ {params} }}')
    with pytest.raises(ModelError, match="bad"):
        CONV.output_shapes(layer, bottoms)


def test_rejects_mismatched_bottoms() -> None:
    layer = make_layer('name: "two" type: "Convolution" top: "a" top: "b" convolution_param { num_output: 2 '
                       'kernel_size: 1 }')
    assert CONV.output_shapes(layer, [(1, 3, 4, 4), (1, 3, 4, 4)]) == [(1, 2, 4, 4)] * 2
    with pytest.raises(ModelError):
        CONV.output_shapes(layer, [(1, 3, 4, 4), (1, 3, 5, 4)])
