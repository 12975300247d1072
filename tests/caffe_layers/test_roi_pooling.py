"""The Fast R-CNN fork's ROIPooling against OpenCV's importer (which runs it) and against the loop
of rbgirshick/caffe-fast-rcnn's roi_pooling_layer.cpp written out here: C's round of the scaled
corners, float32 bin edges, -FLT_MAX start and 0 for bins left empty by clipping."""

from __future__ import annotations

import math

import numpy as np
import pytest

from caffe_layers.helpers import assert_close, make_layer, opencv_forward, run
from converter.caffe.layers import LAYER_TYPES
from converter.errors import ModelError
from converter.ir import RoiPool
from converter.lift.registry import CONVERTERS

ROI_POOLING = LAYER_TYPES["ROIPooling"]
LAYER = 'name: "roi" type: "ROIPooling" bottom: "x" bottom: "rois" top: "roi" roi_pooling_param {{ {} }}'
# Inside, half-way corners (5 * 0.5 = 2.5 rounds to 3, -9 * 0.5 to -5), partly or wholly outside,
# reversed corners, the second batch item.
ROIS = np.array([[0, 0, 0, 19, 15], [1, 3, 5, 9, 13], [1, -9, -7, 4, 3], [0, 18, 14, 40, 40], [1, 12, 8, 2, 1],
                 [0, 60, 60, 70, 70], [0, 5, 5, 5, 5]], np.float32)


def _caffe_loop(x: np.ndarray, rois: np.ndarray, pooled_h: int, pooled_w: int, scale: float) -> np.ndarray:
    """ROIPoolingLayer::Forward_cpu, statement by statement."""
    def c_round(v: float) -> int:  # round(): half away from zero
        return int(math.floor(abs(v) + 0.5)) * (1 if v >= 0 else -1)

    _, channels, height, width = x.shape
    top = np.empty((len(rois), channels, pooled_h, pooled_w), np.float32)
    for n, roi in enumerate(rois):
        batch = int(roi[0])
        start_w, start_h, end_w, end_h = (c_round(float(np.float32(v) * np.float32(scale))) for v in roi[1:])
        bin_h = np.float32(max(end_h - start_h + 1, 1)) / np.float32(pooled_h)
        bin_w = np.float32(max(end_w - start_w + 1, 1)) / np.float32(pooled_w)
        for c in range(channels):
            for ph in range(pooled_h):
                for pw in range(pooled_w):
                    hstart = min(max(math.floor(np.float32(ph) * bin_h) + start_h, 0), height)
                    hend = min(max(math.ceil(np.float32(ph + 1) * bin_h) + start_h, 0), height)
                    wstart = min(max(math.floor(np.float32(pw) * bin_w) + start_w, 0), width)
                    wend = min(max(math.ceil(np.float32(pw + 1) * bin_w) + start_w, 0), width)
                    value = 0.0 if hend <= hstart or wend <= wstart else -np.finfo(np.float32).max
                    for h in range(hstart, hend):
                        for w in range(wstart, wend):
                            if x[batch, c, h, w] > value:
                                value = x[batch, c, h, w]
                    top[n, c, ph, pw] = value
    return top


@pytest.mark.parametrize(("params", "pooled", "scale"), [
    ("pooled_h: 3 pooled_w: 2 spatial_scale: 0.5", (3, 2), 0.5),
    ("pooled_h: 2 pooled_w: 4 spatial_scale: 0.0625", (2, 4), 0.0625),
    ("pooled_h: 2 pooled_w: 2", (2, 2), 1.0),
])
def test_matches_the_caffe_loop(params: str, pooled: tuple[int, int], scale: float) -> None:
    x = np.random.default_rng(1).uniform(-3, -1, (2, 3, 8, 10)).astype(np.float32)
    layer = make_layer(LAYER.format(params))
    (y,) = run(layer, x, ROIS)
    np.testing.assert_array_equal(y, _caffe_loop(x, ROIS, *pooled, scale))


def test_matches_opencv(tmp_path) -> None:
    x = np.random.default_rng(2).standard_normal((2, 4, 8, 10)).astype(np.float32)
    rois = ROIS
    text = LAYER.format("pooled_h: 3 pooled_w: 2 spatial_scale: 0.5")
    (expected,) = opencv_forward(tmp_path, text, {"x": x, "rois": rois})
    (y,) = run(make_layer(text), x, rois)
    assert_close(y, expected)


def test_rois_as_four_axes_and_shapes() -> None:
    layer = make_layer(LAYER.format("pooled_h: 6 pooled_w: 6 spatial_scale: 0.0625"))
    assert ROI_POOLING.output_shapes(layer, [(1, 256, 14, 14), (300, 5, 1, 1)]) == [(300, 256, 6, 6)]
    layer.bottom_shapes = [(1, 256, 14, 14), (300, 5)]
    node = CONVERTERS["ROIPooling"](layer)
    assert isinstance(node, RoiPool) and node.pooled == (6, 6) and node.spatial_scale == 0.0625


@pytest.mark.parametrize(("params", "shapes", "message"), [
    ("pooled_w: 2", [(1, 2, 4, 4), (3, 5)], "pooled_h and pooled_w must be > 0"),
    ("pooled_h: 2 pooled_w: 2", [(1, 2, 4, 4), (3, 4)], "5 values per roi"),
    ("pooled_h: 2 pooled_w: 2", [(1, 2, 4), (3, 5)], "4 axes"),
])
def test_bad_input_names_the_layer(params: str, shapes: list, message: str) -> None:
    with pytest.raises(ModelError, match=f"layer 'roi'.*{message}"):
        ROI_POOLING.output_shapes(make_layer(LAYER.format(params)), shapes)


def test_batch_index_out_of_range() -> None:
    layer = make_layer(LAYER.format("pooled_h: 2 pooled_w: 2"))
    with pytest.raises(ModelError, match="batch item 2"):
        run(layer, np.zeros((2, 1, 4, 4), np.float32), np.array([[2, 0, 0, 3, 3]], np.float32))
