"""Upsample as the YOLOv3 ports define it (ChenYingpeng/caffe-yolov3 upsample_layer), which OpenCV's
importer does not run: against a loop written from the fork's Forward_cpu."""

from __future__ import annotations

import numpy as np
import pytest

from caffe_layers.helpers import make_layer, run
from converter.caffe.layers import LAYER_TYPES
from converter.errors import ModelError

UPSAMPLE = LAYER_TYPES["Upsample"]


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
    ("upsample_param { scale: 2 }", [(1, 2, 3, 3), (1, 2, 3, 3)], "SegNet"),
    ("upsample_param { scale_h: 2 scale_w: 2 }", [(1, 2, 3, 3)], "scale_h, scale_w belong to SegNet"),
])
def test_refuses(text: str, shapes: list, message: str) -> None:
    with pytest.raises(ModelError, match=message):
        UPSAMPLE.output_shapes(make_layer(f'name: "up" type: "Upsample" top: "y" {text}'), shapes)


def test_unset_scale_is_the_yolo_ports_default_of_one() -> None:
    assert UPSAMPLE.output_shapes(make_layer('type: "Upsample" top: "y"'), [(1, 2, 3, 4)]) == [(1, 2, 3, 4)]
