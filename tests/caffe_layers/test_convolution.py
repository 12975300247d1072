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


def caffe_conv_loop(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, stride: tuple[int, int],
                    pad: tuple[int, int], dilation: tuple[int, int], group: int) -> np.ndarray:
    """conv_layer.cpp + im2col.cpp, one output cell at a time: output size (in + 2p - extent) / s + 1
    in C++ integer division (truncating toward zero), taps outside the input read 0."""
    n, c, h, w = x.shape
    m, cg, kh, kw = weight.shape

    def size(length: int, k: int, s: int, p: int, d: int) -> int:
        return int((length + 2 * p - (d * (k - 1) + 1)) / s) + 1  # int() truncates toward zero, as C++ does

    oh, ow = size(h, kh, stride[0], pad[0], dilation[0]), size(w, kw, stride[1], pad[1], dilation[1])
    y = np.zeros((n, m, oh, ow))
    for o in range(m):
        first = o // (m // group) * cg
        for i in range(oh):
            for j in range(ow):
                total = np.full(n, float(bias[o]))
                for ci in range(cg):
                    for a in range(kh):
                        for b in range(kw):
                            row = i * stride[0] - pad[0] + a * dilation[0]
                            col = j * stride[1] - pad[1] + b * dilation[1]
                            if 0 <= row < h and 0 <= col < w:
                                total += float(weight[o, ci, a, b]) * x[:, first + ci, row, col]
                y[:, o, i, j] = total
    return y.astype(np.float32)


# (bottom, convolution_param, stride, pad, dilation, group): the kernel overhangs the padded input
# by less than the stride along H, W or both.
OVERHANG_CASES = {
    "2x2_k3_s2": ((2, 3, 2, 2), "num_output: 4 kernel_size: 3 stride: 2", (2, 2), (0, 0), (1, 1), 1),
    "h_only_rect": ((1, 2, 4, 9), "num_output: 3 kernel_h: 5 kernel_w: 3 stride_h: 3 stride_w: 2",
                    (3, 2), (0, 0), (1, 1), 1),
    "with_pad": ((1, 2, 3, 3), "num_output: 2 kernel_size: 7 stride: 3 pad: 1", (3, 3), (1, 1), (1, 1), 1),
    "pad_h_only": ((1, 2, 2, 6), "num_output: 2 kernel_size: 5 stride: 4 pad_h: 1 pad_w: 0", (4, 4), (1, 0),
                   (1, 1), 1),
    "dilated": ((2, 2, 5, 6), "num_output: 2 kernel_size: 3 dilation: 3 stride: 4", (4, 4), (0, 0), (3, 3), 1),
    "grouped": ((1, 4, 3, 3), "num_output: 6 kernel_size: 4 stride: 2 group: 2 bias_term: false", (2, 2), (0, 0),
                (1, 1), 2),
    "depthwise": ((2, 3, 4, 4), "num_output: 6 kernel_size: 5 stride: 2 group: 3", (2, 2), (0, 0), (1, 1), 3),
}


@pytest.mark.parametrize("case", OVERHANG_CASES.values(), ids=OVERHANG_CASES.keys())
def test_kernel_overhanging_the_input_by_less_than_the_stride(case: tuple) -> None:
    # OpenCV does not follow Caffe here (it makes 0 outputs and refuses the net), so the oracle is
    # Caffe's rule written out as a loop.
    shape, params, stride, pad, dilation, group = case
    rng = np.random.default_rng(4)
    x = rng.standard_normal(shape).astype(np.float32)
    layer = make_layer(f'name: "c" type: "Convolution" bottom: "x" top: "c" convolution_param {{ {params} }}')
    blobs = [rng.standard_normal(s).astype(np.float32) for s in CONV.blob_shapes(layer, [shape])]
    layer.blobs = blobs
    bias = blobs[1] if len(blobs) > 1 else np.zeros(blobs[0].shape[0], np.float32)
    (actual,) = run(layer, x)
    assert_close(actual, caffe_conv_loop(x, blobs[0], bias, stride, pad, dilation, group))


def test_overhang_output_sizes_truncate_toward_zero() -> None:
    layer = make_layer('type: "Convolution" top: "y" convolution_param { num_output: 1 kernel_size: 3 stride: 2 }')
    # (2 - 3) / 2 + 1 = 0 + 1 in C++ (floor division would give 0); (1 - 3) / 2 + 1 = 0 is refused below.
    assert CONV.output_shapes(layer, [(1, 1, 2, 9)]) == [(1, 1, 1, 4)]
    layer = make_layer('type: "Convolution" top: "y" convolution_param { num_output: 1 kernel_h: 9 kernel_w: 1 '
                       "stride_h: 4 stride_w: 1 }")
    assert CONV.output_shapes(layer, [(1, 1, 6, 2)]) == [(1, 1, 1, 2)]  # (6 - 9) / 4 + 1 = 1


@pytest.mark.parametrize(("params", "bottom", "outputs"), [
    ("kernel_size: 3 stride: 2", (1, 1, 1, 5), 0),  # (1 - 3) / 2 + 1 = 0: an overhang of a whole stride
    ("kernel_size: 5 stride: 2", (1, 1, 2, 5), 0),  # (2 - 5) / 2 + 1 = 0
    ("kernel_size: 7 stride: 2", (1, 1, 2, 9), -1),  # (2 - 7) / 2 + 1 = -1
])
def test_overhang_of_a_stride_or_more_is_refused(params: str, bottom: tuple, outputs: int) -> None:
    layer = make_layer(f'name: "big" type: "Convolution" top: "y" convolution_param {{ num_output: 1 {params} }}')
    with pytest.raises(ModelError, match=rf"big.*along H by a stride \(2\) or more.*gives {outputs} outputs"):
        CONV.output_shapes(layer, [bottom])
