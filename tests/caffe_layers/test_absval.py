"""AbsVal (absent from the golden cases): against OpenCV and closed form; Caffe forbids it in place."""

from __future__ import annotations

import numpy as np
import pytest

from caffe_layers.helpers import assert_close, make_layer, opencv_forward, run
from converter.caffe.layers import LAYER_TYPES
from converter.errors import ModelError


def test_matches_opencv(tmp_path) -> None:
    x = np.random.default_rng(15).standard_normal((2, 3, 4, 5)).astype(np.float32)
    text = 'name: "a" type: "AbsVal" bottom: "x" top: "a"'
    (expected,) = opencv_forward(tmp_path, text, {"x": x})
    assert_close(run(make_layer(text), x)[0], expected)


def test_closed_form() -> None:
    (y,) = run(make_layer('type: "AbsVal" bottom: "x" top: "y"'), np.array([-2, 0, 3.5], np.float32))
    np.testing.assert_array_equal(y, [2, 0, 3.5])


def test_rejects_in_place() -> None:
    with pytest.raises(ModelError, match="in-place"):
        LAYER_TYPES["AbsVal"].output_shapes(make_layer('name: "a" type: "AbsVal" bottom: "x" top: "x"'), [(1, 2)])
