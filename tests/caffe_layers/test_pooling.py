"""Pooling against BVLC Caffe (golden: round-up, padded AVE divisors, global pooling) and hand-worked cases."""

from __future__ import annotations

import numpy as np
import pytest

from caffe_layers.helpers import check_golden, golden_layers, make_layer, run
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
