"""Upsample, both fork layers of that name, neither run by OpenCV's importer: the YOLOv3 ports' one
(one bottom, nearest neighbour) against a loop written from ChenYingpeng/caffe-yolov3's Forward_cpu,
SegNet/ENet's (unpooling by a MAX Pooling's mask) against the loop of alexgkendall/caffe-segnet's
upsample_layer.cpp, written out here."""

from __future__ import annotations

import numpy as np
import pytest

from caffe_layers.helpers import assert_close, make_layer, run
from converter.caffe.layers import LAYER_TYPES
from converter.errors import ModelError
from converter.ir import Unpool
from converter.lift.registry import CONVERTERS

UPSAMPLE = LAYER_TYPES["Upsample"]

# ---------------------------------------------------------------------------------------------- YOLO


def fork_loop(x: np.ndarray, scale: int) -> np.ndarray:
    """output[n, c, h, w] = input[n, c, h / scale, w / scale] over the top's (N, C, H, W)."""
    n, c, h, w = x.shape
    out = np.empty((n, c, h * scale, w * scale), np.float32)
    for oh in range(h * scale):
        for ow in range(w * scale):
            out[:, :, oh, ow] = x[:, :, oh // scale, ow // scale]
    return out


@pytest.mark.parametrize("scale", [1, 2, 3])
def test_matches_the_fork_loop(scale: int) -> None:
    x = np.random.default_rng(1).standard_normal((2, 3, 4, 5)).astype(np.float32)
    (y,) = run(make_layer(f'type: "Upsample" top: "y" upsample_param {{ scale: {scale} }}'), x)
    np.testing.assert_array_equal(y, fork_loop(x, scale))


@pytest.mark.parametrize(("text", "shapes", "message"), [
    ("upsample_param { scale: 0 }", [(1, 2, 3, 3)], "at least 1"),
    ("upsample_param { scale: 2 }", [(1, 2, 3)], "4-D"),
    ("upsample_param { scale_h: 2 scale_w: 2 }", [(1, 2, 3, 3)], "scale_h, scale_w belong to SegNet"),
])
def test_refuses(text: str, shapes: list, message: str) -> None:
    with pytest.raises(ModelError, match=message):
        UPSAMPLE.output_shapes(make_layer(f'name: "up" type: "Upsample" top: "y" {text}'), shapes)


def test_unset_scale_is_the_yolo_ports_default_of_one() -> None:
    assert UPSAMPLE.output_shapes(make_layer('type: "Upsample" top: "y"'), [(1, 2, 3, 4)]) == [(1, 2, 3, 4)]


# ---------------------------------------------------------------------------------------------- SegNet


def _caffe_loop(data: np.ndarray, mask: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """UpsampleLayer::Forward_cpu: zero the top, then top[idx] = bottom[i] for every i in order."""
    n, c, h, w = data.shape
    top = np.zeros((n, c, out_h * out_w), np.float32)
    for i_n in range(n):
        for i_c in range(c):
            flat_data, flat_mask = data[i_n, i_c].reshape(-1), mask[i_n, i_c].reshape(-1)
            for i in range(h * w):
                top[i_n, i_c, int(flat_mask[i])] = flat_data[i]
    return top.reshape(n, c, out_h, out_w)


def _pool_with_mask(x: np.ndarray, params: str) -> list[np.ndarray]:
    pool = make_layer(f'name: "p" type: "Pooling" bottom: "x" top: "p" top: "m" pooling_param {{ {params} }}')
    return run(pool, x)


def _upsample(params: str):
    return make_layer(f'name: "up" type: "Upsample" bottom: "d" bottom: "m" top: "up" upsample_param {{ {params} }}')


@pytest.mark.parametrize(("pooling", "upsample", "in_hw", "out_hw"), [
    ("pool: MAX kernel_size: 2 stride: 2", "scale: 2", (8, 6), (8, 6)),
    # Odd input: the pooling rounds up, the unpooling trims with pad_out (SegNet's older nets).
    ("pool: MAX kernel_size: 2 stride: 2", "scale: 2 pad_out_h: true pad_out_w: true", (7, 5), (7, 5)),
    ("pool: MAX kernel_size: 2 stride: 2", "upsample_h: 7 upsample_w: 9", (7, 9), (7, 9)),
    ("pool: MAX kernel_h: 2 kernel_w: 3 stride_h: 2 stride_w: 3", "scale_h: 2 scale_w: 3", (6, 9), (6, 9)),
    # Overlapping windows: one cell can be two windows' maximum; the later window's value stays.
    ("pool: MAX kernel_size: 3 stride: 2", "upsample_h: 7 upsample_w: 7", (7, 7), (7, 7)),
])
def test_unpools_a_max_pooling_mask(pooling: str, upsample: str, in_hw: tuple[int, int],
                                    out_hw: tuple[int, int]) -> None:
    x = np.random.default_rng(1).standard_normal((2, 3, *in_hw)).astype(np.float32)
    pooled, mask = _pool_with_mask(x, pooling)
    # Different values than the pooled ones, so a write from the wrong cell shows.
    data = np.random.default_rng(2).standard_normal(pooled.shape).astype(np.float32)
    layer = _upsample(upsample)
    assert UPSAMPLE.output_shapes(layer, [data.shape, mask.shape]) == [(2, 3, *out_hw)]
    (y,) = run(layer, data, mask)
    assert_close(y, _caffe_loop(data, mask, *out_hw))


def test_repeated_indices_keep_the_last_cell() -> None:
    data = np.arange(1, 9, dtype=np.float32).reshape(1, 2, 2, 2)
    mask = np.array([[[[3, 3], [0, 3]], [[1, 1], [1, 2]]]], np.float32)
    (y,) = run(_upsample("scale: 2"), data, mask)
    expected = np.zeros((1, 2, 4, 4), np.float32)
    expected[0, 0, 0, 3], expected[0, 0, 0, 0] = 4, 3
    expected[0, 1, 0, 1], expected[0, 1, 0, 2] = 7, 8
    assert_close(y, expected)
    assert_close(y, _caffe_loop(data, mask, 4, 4))


@pytest.mark.parametrize(("params", "message"), [
    ("scale: 2 scale_h: 2 scale_w: 2", "scale OR scale_h & scale_w"),
    ("scale_h: 2", "scale OR scale_h & scale_w"),
    ("scale: 1", "must exceed 1"),
    ("upsample_h: 1 upsample_w: 4", "must exceed 1"),
    ("scale_h: 3 scale_w: 2 pad_out_h: true", "pad_out_h requires scale_h == 2"),
])
def test_bad_parameters_name_the_layer(params: str, message: str) -> None:
    with pytest.raises(ModelError, match=f"layer 'up'.*{message}"):
        UPSAMPLE.output_shapes(_upsample(params), [(1, 2, 3, 3), (1, 2, 3, 3)])


def test_mask_shape_must_match() -> None:
    with pytest.raises(ModelError, match="must have the data's shape"):
        UPSAMPLE.output_shapes(_upsample("scale: 2"), [(1, 2, 3, 3), (1, 2, 3, 4)])


def test_index_outside_the_plane_is_refused() -> None:
    # Caffe: LOG(FATAL) "upsample top index ... out of range" (past the end); a negative index
    # writes outside the plane.
    data = np.ones((1, 1, 2, 2), np.float32)
    for bad in (16.0, -1.0):
        mask = np.array([[[[0, 1], [2, bad]]]], np.float32)
        with pytest.raises(ModelError, match="outside the 4x4 output plane"):
            run(_upsample("scale: 2"), data, mask)


def test_lift_gives_unpool_of_the_output_size() -> None:
    layer = _upsample("scale: 2 pad_out_w: true")
    layer.bottom_shapes = [(1, 2, 3, 3), (1, 2, 3, 3)]
    node = CONVERTERS["Upsample"](layer)
    assert isinstance(node, Unpool) and node.out_hw == (6, 5) and node.inputs == ["d", "m"]


def test_two_bottoms_with_no_scale_use_segnets_default_of_two() -> None:
    layer = make_layer('name: "up" type: "Upsample" bottom: "d" bottom: "m" top: "up"')
    assert UPSAMPLE.output_shapes(layer, [(1, 2, 3, 4), (1, 2, 3, 4)]) == [(1, 2, 6, 8)]
