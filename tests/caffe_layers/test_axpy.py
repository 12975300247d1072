"""Axpy (SENet's axpy_layer.cpp) against OpenCV's importer, and its shape checks."""

from __future__ import annotations

import numpy as np
import pytest

from caffe_layers.helpers import assert_close, make_layer, opencv_forward, run
from converter.caffe.layers import LAYER_TYPES
from converter.errors import ModelError

AXPY = LAYER_TYPES["Axpy"]
TEXT = 'name: "ax" type: "Axpy" bottom: "a" bottom: "x" bottom: "y" top: "ax"'


def test_matches_opencv_given_x_and_y_swapped(tmp_path) -> None:
    # OpenCV 4.14's importer builds Axpy as Scale(bottom 2, bottom 0) + bottom 1: it scales y, not x
    # (SENet's layer copies bottom 2 and adds a * bottom 1). Handed the bottoms (a, y, x), it computes
    # the fork's a * x + y; the opencv backend does the same. OpenCV's Axpy runs one sample only.
    rng = np.random.default_rng(2)
    a = rng.standard_normal((1, 3, 1, 1)).astype(np.float32)
    x, y = rng.standard_normal((2, 1, 3, 4, 5)).astype(np.float32)
    swapped = 'name: "ax" type: "Axpy" bottom: "a" bottom: "y" bottom: "x" top: "ax"'
    (expected,) = opencv_forward(tmp_path, swapped, {"a": a, "x": x, "y": y})
    (actual,) = run(make_layer(TEXT), a, x, y)
    assert_close(actual, expected)
    # OpenCV's own reading of the layer as written: a * y + x (if this fails, OpenCV was fixed and
    # the backend's swap must go).
    (tmp_path / "as_written").mkdir()
    (as_written,) = opencv_forward(tmp_path / "as_written", TEXT, {"a": a, "x": x, "y": y})
    assert_close(as_written, a * y + x)
    assert not np.allclose(as_written, actual)


def test_fork_loop_on_two_axis_factor() -> None:
    # axpy_layer.cpp: top = y; top[n, c, :] += a[n * C + c] * x[n, c, :] (caffe_axpy per plane).
    rng = np.random.default_rng(4)
    a = rng.standard_normal((2, 3)).astype(np.float32)
    x, y = rng.standard_normal((2, 2, 3, 6)).astype(np.float32)
    expected = y.copy()
    for n in range(2):
        for c in range(3):
            expected[n, c] += a.reshape(-1)[n * 3 + c] * x[n, c]
    (actual,) = run(make_layer(TEXT), a, x, y)
    assert_close(actual, expected)


@pytest.mark.parametrize(("shapes", "message"), [
    ([(2, 3, 2, 1), (2, 3, 4, 4), (2, 3, 4, 4)], "one value per"),
    ([(2, 4, 1, 1), (2, 3, 4, 4), (2, 3, 4, 4)], "first two dims"),
    ([(2, 3, 1, 1), (2, 3, 4, 4), (2, 3, 4, 5)], "same shape"),
])
def test_rejects_mismatched_bottoms(shapes: list, message: str) -> None:
    with pytest.raises(ModelError, match=message):
        AXPY.output_shapes(make_layer(TEXT), shapes)
