"""Flatten (absent from the golden cases): against OpenCV and by hand; Caffe forbids it in place."""

from __future__ import annotations

import numpy as np
import pytest

from caffe_layers.helpers import assert_close, make_layer, opencv_forward, run
from converter.caffe.layers import LAYER_TYPES
from converter.errors import ModelError

FLATTEN = LAYER_TYPES["Flatten"]


@pytest.mark.parametrize("params", ["", "axis: 2", "axis: 1 end_axis: 2", "axis: 0"])
def test_matches_opencv(tmp_path, params: str) -> None:
    x = np.random.default_rng(20).standard_normal((2, 3, 4, 5)).astype(np.float32)
    text = f'name: "f" type: "Flatten" bottom: "x" top: "f" flatten_param {{ {params} }}'
    (expected,) = opencv_forward(tmp_path, text, {"x": x})
    (actual,) = run(make_layer(text), x)
    if actual.ndim == 1:
        expected = expected.reshape(-1)  # OpenCV's Mats have at least two axes
    assert_close(actual, expected)


@pytest.mark.parametrize(
    ("params", "shape"),
    [("", (2, 60)), ("axis: -2", (2, 3, 20)), ("axis: 1 end_axis: -2", (2, 12, 5)),
     ("axis: 2 end_axis: 1", (2, 3, 1, 4, 5))],  # end_axis just before axis: Caffe inserts a 1
)
def test_shapes(params: str, shape: tuple) -> None:
    layer = make_layer(f'type: "Flatten" bottom: "x" top: "f" flatten_param {{ {params} }}')
    assert FLATTEN.output_shapes(layer, [(2, 3, 4, 5)]) == [shape]
    x = np.arange(120, dtype=np.float32).reshape(2, 3, 4, 5)
    (y,) = run(layer, x)
    np.testing.assert_array_equal(y.ravel(), np.arange(120))


@pytest.mark.parametrize("text", ['bottom: "x" top: "x"', 'bottom: "x" top: "y" flatten_param { axis: 3 end_axis: 1 }',
                                  'bottom: "x" top: "y" flatten_param { axis: 4 }'])
def test_rejects_impossible_configurations(text: str) -> None:
    with pytest.raises(ModelError, match="fl"):
        FLATTEN.output_shapes(make_layer(f'name: "fl" type: "Flatten" {text}'), [(2, 3, 4, 5)])
