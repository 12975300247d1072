"""Pooling against BVLC Caffe (golden: round-up, padded AVE divisors, global pooling) and hand-worked cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from caffe_layers.helpers import check_golden, golden_layers, make_layer, opencv_forward, run
from converter.caffe.layers import LAYER_TYPES
from converter.errors import ModelError

POOL = LAYER_TYPES["Pooling"]
FLT_MAX = float(np.finfo(np.float32).max)


def pooling(params: str) -> object:
    return make_layer(f'name: "pool" type: "Pooling" bottom: "x" top: "y" pooling_param {{ {params} }}')


@pytest.mark.parametrize(("case", "name"), golden_layers("Pooling"))
def test_matches_caffe(case: str, name: str) -> None:
    check_golden(case, name)


def test_rounds_up_like_squeezenet_v1_1() -> None:
    layer = pooling("pool: MAX kernel_size: 3 stride: 2")
    # 113 -> 56 -> 28 -> 14; floor division would give 56 -> 27 -> 13.
    assert POOL.output_shapes(layer, [(1, 64, 113, 113)]) == [(1, 64, 56, 56)]
    assert POOL.output_shapes(layer, [(1, 128, 56, 56)]) == [(1, 128, 28, 28)]
    assert POOL.output_shapes(layer, [(1, 256, 28, 28)]) == [(1, 256, 14, 14)]
    floor = pooling("pool: MAX kernel_size: 3 stride: 2 round_mode: FLOOR")
    assert POOL.output_shapes(floor, [(1, 128, 56, 56)]) == [(1, 128, 27, 27)]


def test_last_window_must_start_inside_image_or_left_pad() -> None:
    # ceil((5 + 2 - 3) / 3) + 1 = 3, but the third window would start at 6 - 1 = 5 == in: dropped.
    assert POOL.output_shapes(pooling("kernel_size: 3 stride: 3 pad: 1"), [(1, 1, 5, 5)]) == [(1, 1, 2, 2)]
    # Caffe clips both axes as soon as either pad is nonzero: H has no pad but still loses its window.
    layer = pooling("kernel_h: 1 kernel_w: 3 stride_h: 3 stride_w: 1 pad_h: 0 pad_w: 1")
    assert POOL.output_shapes(layer, [(1, 1, 5, 4)]) == [(1, 1, 2, 4)]
    layer = pooling("kernel_h: 1 kernel_w: 3 stride_h: 3 stride_w: 1")
    assert POOL.output_shapes(layer, [(1, 1, 5, 4)]) == [(1, 1, 3, 2)]


def test_ave_divisor_counts_padding_but_not_round_up_overhang() -> None:
    x = np.array([1, 2, 3, 4], np.float32).reshape(1, 1, 1, 4)
    layer = pooling("pool: AVE kernel_h: 1 kernel_w: 3 stride_h: 1 stride_w: 2 pad_h: 0 pad_w: 1")
    (y,) = run(layer, x)
    # Windows [-1, 2), [1, 4), [3, 6): divisors 3 (one pad cell), 3, and 2 (clipped to in + pad = 5).
    np.testing.assert_allclose(y.ravel(), [(0 + 1 + 2) / 3, (2 + 3 + 4) / 3, (4 + 0) / 2], rtol=1e-6)


def test_max_ignores_padding() -> None:
    x = -np.array([1, 2, 3, 4], np.float32).reshape(1, 1, 1, 4)
    (y,) = run(pooling("pool: MAX kernel_h: 1 kernel_w: 3 stride_h: 1 stride_w: 2 pad_h: 0 pad_w: 1"), x)
    np.testing.assert_array_equal(y.ravel(), [-1, -2, -4])


def test_window_past_the_image_without_padding_gives_minus_flt_max() -> None:
    # stride > kernel with no pad: Caffe keeps a last window lying wholly past the image (pooling_layer.cpp
    # starts maxval at -FLT_MAX); AVE divides an empty sum by (min(6 + 1, 5) - 6) = -1.
    x = np.array([1, 2, 3, 4, 5], np.float32).reshape(1, 1, 5, 1)
    (y,) = run(pooling("pool: MAX kernel_size: 1 stride_h: 3 stride_w: 1"), x)
    np.testing.assert_array_equal(y.ravel(), [1, 4, -FLT_MAX])
    (y,) = run(pooling("pool: AVE kernel_size: 1 stride_h: 3 stride_w: 1"), x)
    np.testing.assert_array_equal(y.ravel(), [1, 4, 0])


@pytest.mark.parametrize("stride", [2, 3])
def test_kernel_larger_than_the_input_still_gives_one_window_with_a_stride(stride: int) -> None:
    # Caffe: ceil((2 - 3) / stride) + 1 = ceil(-1/2) + 1 = 1 window [0, 3) clipped to the image, so MAX
    # is the maximum of the 2x2 plane and AVE divides by min(0 + 3, 2 + 0) - 0 = 2 per axis.
    x = np.array([[1, 2], [3, 4]], np.float32).reshape(1, 1, 2, 2)
    (y,) = run(pooling(f"pool: MAX kernel_size: 3 stride: {stride}"), x)
    np.testing.assert_array_equal(y, [[[[4]]]])
    (y,) = run(pooling(f"pool: AVE kernel_size: 3 stride: {stride}"), x)
    np.testing.assert_allclose(y, [[[[10 / 4]]]], rtol=1e-6)


def test_kernel_larger_than_the_input_with_stride_1_has_no_output() -> None:
    # ceil((2 - 3) / 1) + 1 = 0: nothing to pool.
    with pytest.raises(ModelError, match="no output"):
        POOL.output_shapes(pooling("pool: MAX kernel_size: 3"), [(1, 1, 2, 2)])


def test_global_pooling_uses_the_whole_input() -> None:
    x = np.arange(24, dtype=np.float32).reshape(1, 2, 3, 4)
    (y,) = run(pooling("pool: AVE global_pooling: true"), x)
    np.testing.assert_allclose(y.ravel(), [5.5, 17.5])
    (y,) = run(pooling("pool: MAX global_pooling: true"), x)
    np.testing.assert_array_equal(y.ravel(), [11, 23])


@pytest.mark.parametrize(
    ("params", "bottoms"),
    [
        ("kernel_size: 5", [(1, 1, 4, 8)]),  # kernel larger than the input
        ("kernel_size: 3 pad: 3", [(1, 1, 8, 8)]),  # pad must be smaller than the kernel
        ("kernel_size: 3 kernel_h: 3 kernel_w: 3", [(1, 1, 8, 8)]),
        ("kernel_h: 3", [(1, 1, 8, 8)]),
        ("stride: 2", [(1, 1, 8, 8)]),  # no kernel
        ("kernel_size: 0", [(1, 1, 8, 8)]),
        ("kernel_size: 2 stride: 0", [(1, 1, 8, 8)]),
        ("kernel_size: 2 pad: 1 pad_h: 1 pad_w: 1", [(1, 1, 8, 8)]),
        ("kernel_size: 2 stride_h: 2", [(1, 1, 8, 8)]),
        ("global_pooling: true kernel_size: 2", [(1, 1, 8, 8)]),
        ("global_pooling: true pad: 1", [(1, 1, 8, 8)]),
        ("global_pooling: true stride: 2", [(1, 1, 8, 8)]),
        ("pool: STOCHASTIC kernel_size: 2", [(1, 1, 8, 8)]),
        ("kernel_size: 2", [(1, 8, 8)]),  # not 4-D
        ("kernel_size: 2", [(1, 1, 8, 8), (1, 1, 8, 8)]),
        ("kernel_size: 2", [(1, 0, 8, 8)]),
    ],
)
def test_rejects_impossible_configurations(params: str, bottoms: list) -> None:
    with pytest.raises(ModelError, match="pool"):
        POOL.output_shapes(pooling(params), bottoms)


def caffe_max_with_mask(x: np.ndarray, kernel: tuple, stride: tuple, pad: tuple, out: tuple) -> tuple:
    """pooling_layer.cpp's MAX loop with a mask top, written out: top starts at -FLT_MAX and mask at
    -1; over the window clipped to the bottom, h outer and w inner, a value strictly greater than
    the top replaces it and sets the mask to h * width + w."""
    n, c, h, w = x.shape
    top = np.full((n, c, *out), -FLT_MAX, np.float32)
    mask = np.full((n, c, *out), -1, np.float32)
    for a in range(n):
        for b in range(c):
            for i in range(out[0]):
                for j in range(out[1]):
                    hstart, wstart = i * stride[0] - pad[0], j * stride[1] - pad[1]
                    for row in range(max(hstart, 0), min(hstart + kernel[0], h)):
                        for col in range(max(wstart, 0), min(wstart + kernel[1], w)):
                            if x[a, b, row, col] > top[a, b, i, j]:
                                top[a, b, i, j], mask[a, b, i, j] = x[a, b, row, col], row * w + col
    return top, mask


# (pooling_param, bottom, kernel, stride, pad, output size, OpenCV follows Caffe here)
MASK_CASES = {
    "k3s2": ("kernel_size: 3 stride: 2", (2, 3, 7, 7), (3, 3), (2, 2), (0, 0), (3, 3), True),
    "k2s2": ("kernel_size: 2 stride: 2", (1, 2, 6, 6), (2, 2), (2, 2), (0, 0), (3, 3), True),
    "padded_round_up": ("kernel_size: 3 stride: 2 pad: 1", (1, 2, 5, 6), (3, 3), (2, 2), (1, 1), (3, 4), True),
    "rectangular": ("kernel_h: 3 kernel_w: 2 stride_h: 1 stride_w: 3 pad_h: 1 pad_w: 1", (2, 2, 5, 7), (3, 2),
                    (1, 3), (1, 1), (5, 3), True),
    # The last row and column of windows lie past the image: mask -1 (OpenCV's top is not -FLT_MAX).
    "window_past_the_image": ("kernel_size: 1 stride: 2", (1, 1, 4, 4), (1, 1), (2, 2), (0, 0), (3, 3), False),
    "global": ("global_pooling: true", (2, 2, 4, 5), (4, 5), (1, 1), (0, 0), (1, 1), True),
    # Fewer windows than kernel taps (another loop in the reference); OpenCV refuses the net.
    "kernel_over_the_input": ("kernel_size: 5 stride: 2", (1, 2, 4, 4), (5, 5), (2, 2), (0, 0), (1, 1), False),
    "large_pad": ("kernel_size: 4 stride: 3 pad: 2", (1, 2, 5, 5), (4, 4), (3, 3), (2, 2), (3, 3), True),
}


@pytest.mark.parametrize("case", MASK_CASES.values(), ids=MASK_CASES.keys())
def test_max_with_an_argmax_mask_top(tmp_path, case: tuple) -> None:
    params, shape, kernel, stride, pad, out, opencv_follows = case
    rng = np.random.default_rng(2)
    x = rng.integers(-2, 3, shape).astype(np.float32)  # few distinct values: many tied maxima
    x.flat[::7], x.flat[::11] = -np.inf, -FLT_MAX  # never above -FLT_MAX: such a window keeps mask -1
    text = f'name: "pool" type: "Pooling" bottom: "x" top: "y" top: "mask" pooling_param {{ pool: MAX {params} }}'
    y, mask = run(make_layer(text), x)
    top, expected = caffe_max_with_mask(x, kernel, stride, pad, out)
    np.testing.assert_array_equal(y, top)
    np.testing.assert_array_equal(mask, expected)
    if opencv_follows:
        cv_top, cv_mask = opencv_forward(tmp_path, text, {"x": x})
        np.testing.assert_array_equal(cv_top, y)
        np.testing.assert_array_equal(cv_mask, mask)


def test_mask_is_the_index_within_the_channel_plane() -> None:
    x = np.array([[1, 5, 2], [7, 0, 7], [3, 9, 9]], np.float32).reshape(1, 1, 3, 3)
    x = np.concatenate([x, -x], axis=1)
    _, mask = run(make_layer('type: "Pooling" bottom: "x" top: "y" top: "m" '
                             "pooling_param { pool: MAX kernel_size: 2 stride: 1 }"), x)
    # Channel 0: the windows' maxima 7 at (1, 0), 7 at (1, 2), then 9 at (2, 1), the first of two 9s.
    # Channel 1 (negated): 0 at (1, 1) everywhere, index 4 counted from its own plane's start (not 13).
    np.testing.assert_array_equal(mask[0, 0], [[3, 5], [7, 7]])
    np.testing.assert_array_equal(mask[0, 1], [[4, 4], [4, 4]])


@pytest.mark.parametrize(("params", "tops"), [("pool: AVE kernel_size: 2", 2), ("pool: MAX kernel_size: 2", 3)])
def test_mask_top_only_for_max_and_only_one(params: str, tops: int) -> None:
    names = " ".join(f'top: "t{i}"' for i in range(tops))
    layer = make_layer(f'name: "pool" type: "Pooling" bottom: "x" {names} pooling_param {{ {params} }}')
    with pytest.raises(ModelError, match=f"pool.*1 top, or 2 for MAX.*names {tops}"):
        POOL.output_shapes(layer, [(1, 1, 4, 4)])


@pytest.mark.parametrize("params", ["pool: MAX kernel_size: 3 stride: 2 pad: 1",  # DenseNet-121's pool1
                                    "pool: MAX kernel_size: 3 stride: 2",
                                    "pool: AVE kernel_size: 2 stride: 2",
                                    "pool: AVE kernel_size: 3 stride: 2 pad: 1"])
def test_ceil_mode_false_rounds_down_like_opencv(tmp_path, params: str) -> None:
    # The DenseNet/ResNeXt ports' fork (BVLC PR 3057): ceil_mode false is floor((in + 2p - k) / s) + 1,
    # then the same clip of a last window starting in the padding; OpenCV's importer reads the field.
    x = np.random.default_rng(6).standard_normal((1, 2, 8, 9)).astype(np.float32)
    text = f'name: "pool" type: "Pooling" bottom: "x" top: "pool" pooling_param {{ {params} ceil_mode: false }}'
    expected = opencv_forward(tmp_path, text, {"x": x})[0]  # OpenCV's MAX also gives its mask
    (actual,) = run(make_layer(text), x)
    ceil = POOL.output_shapes(make_layer(text.replace("ceil_mode: false", "")), [x.shape])[0]
    assert actual.shape == expected.shape and actual.shape != ceil
    np.testing.assert_allclose(actual, expected, rtol=1e-6, atol=1e-6)


def test_ceil_mode_true_is_the_default_rounding_and_contradictions_are_refused() -> None:
    assert POOL.output_shapes(pooling("kernel_size: 3 stride: 2 ceil_mode: true"), [(1, 1, 8, 8)]) == [(1, 1, 4, 4)]
    with pytest.raises(ModelError, match="contradict"):
        POOL.output_shapes(pooling("kernel_size: 3 stride: 2 ceil_mode: false round_mode: CEIL"), [(1, 1, 8, 8)])


def yolo_fork_max_pool(x: np.ndarray, k: int, s: int) -> np.ndarray:
    """darknet2caffe's caffe_layers/pooling_layer/pooling_layer.cpp (the YOLOv3 ports' Caffe):
    ceil((H - k) / s) + 1 windows, one more on both axes when `(kernel_h_ - stride_h_) % 2 == 1` in
    C++ (math.fmod keeps C++'s sign: kernel 1 stride 2 gives -1, no extra window); each MAX window
    clipped to the input."""
    h, w = x.shape[2:]
    oh, ow = math.ceil((h - k) / s) + 1, math.ceil((w - k) / s) + 1
    if math.fmod(k - s, 2) == 1:
        oh, ow = oh + 1, ow + 1
    y = np.full((*x.shape[:2], oh, ow), -FLT_MAX, np.float32)
    for i in range(oh):
        for j in range(ow):
            window = x[:, :, i * s : min(i * s + k, h), j * s : min(j * s + k, w)]
            y[:, :, i, j] = window.max(axis=(2, 3))
    return y


@pytest.mark.parametrize(("k", "s"), [(2, 1), (2, 2), (3, 2), (1, 2), (4, 1)])
def test_yolo_fork_rounding_when_the_net_is_read_for_that_caffe(tmp_path, k: int, s: int) -> None:
    from converter.caffe.loader import load_net

    # YOLOv3-tiny's size 2 stride 1 maxpool keeps 13 at 13 in the YOLO ports' Caffe (BVLC: 12).
    (tmp_path / "pool.prototxt").write_text(
        'input: "data" input_shape { dim: 1 dim: 2 dim: 13 dim: 13 }\n'
        f'layer {{ name: "pool" type: "Pooling" bottom: "data" top: "pool" '
        f'pooling_param {{ pool: MAX kernel_size: {k} stride: {s} }} }}\n')
    x = np.random.default_rng(2).standard_normal((1, 2, 13, 13)).astype(np.float32)
    yolo = load_net(tmp_path / "pool.prototxt", caffe_fork="yolov3").layers[0]
    (y,) = POOL.forward(yolo, [x])
    np.testing.assert_array_equal(y, yolo_fork_max_pool(x, k, s))
    bvlc = load_net(tmp_path / "pool.prototxt").layers[0]  # both fit: BVLC's reading
    assert bvlc.top_shapes[0][2] == math.ceil((13 - k) / s) + 1


def test_follow_ties_takes_another_cell_only_where_values_tie_within_the_tolerance() -> None:
    """pooling.follow_ties, which verification uses when a run's mask differs from the reference's:
    a cell of the same window within the tolerance of the maximum is taken (pooled value and mask);
    a cell clearly below it, or one outside the window even if equal, is not a tie (None)."""
    from converter.caffe.layers.pooling import follow_ties

    layer = make_layer('name: "p" type: "Pooling" bottom: "x" top: "p" top: "m" '
                       'pooling_param { pool: MAX kernel_size: 2 stride: 2 }')
    x = np.array([[[[1.0, 1.000001, 0.0, 1.000001],
                    [0.5, 0.2, 0.3, 0.1]]]], np.float32)  # 2x4: two windows, cells 0,1,4,5 and 2,3,6,7
    tops = run(layer, x)
    assert tops[1].tolist() == [[[[1.0, 3.0]]]]
    followed = follow_ties(layer, x, tops, np.array([[[[0.0, 3.0]]]], np.float32), 1e-4)
    assert followed is not None and followed[1] == 1
    assert followed[0][1].tolist() == [[[[0.0, 3.0]]]] and followed[0][0][0, 0, 0, 0] == np.float32(1.0)
    assert follow_ties(layer, x, tops, np.array([[[[0.0, 3.0]]]], np.float32), 1e-7) is None  # not within
    assert follow_ties(layer, x, tops, np.array([[[[4.0, 3.0]]]], np.float32), 1e-4) is None  # 0.5: below
    assert follow_ties(layer, x, tops, np.array([[[[1.0, 1.0]]]], np.float32), 1e-4) is None  # another window
    assert follow_ties(layer, x, tops, tops[1], 1e-4)[1] == 0  # the same mask: nothing to follow
