"""ReLU6 (relu6_layer.cpp: min(max(x, 0), 6)) against OpenCV's importer and by hand."""

from __future__ import annotations

import numpy as np
import pytest

from caffe_layers.helpers import assert_close, make_layer, opencv_forward, run
from converter.caffe.layers import LAYER_TYPES
from converter.errors import ModelError


def test_matches_opencv(tmp_path) -> None:
    x = np.random.default_rng(3).uniform(-9, 9, (2, 3, 4, 5)).astype(np.float32)
    text = 'name: "r" type: "ReLU6" bottom: "x" top: "r"'
    (expected,) = opencv_forward(tmp_path, text, {"x": x})
    assert_close(run(make_layer(text), x)[0], expected)


def test_by_hand_and_in_place() -> None:
    (y,) = run(make_layer('type: "ReLU6" top: "y"'), np.array([-3, 0, 2.5, 6, 7.5], np.float32))
    np.testing.assert_array_equal(y, [0, 0, 2.5, 6, 6])
    assert LAYER_TYPES["ReLU6"].in_place


def test_a_negative_slope_is_refused() -> None:
    layer = make_layer('name: "r6" type: "ReLU6" top: "y" relu6_param { negative_slope: 0.1 }')
    with pytest.raises(ModelError, match="r6.*negative_slope"):
        LAYER_TYPES["ReLU6"].output_shapes(layer, [(1, 2)])
