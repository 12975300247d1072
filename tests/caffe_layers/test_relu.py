"""ReLU against BVLC Caffe (golden: plain and leaky, in place), OpenCV and closed form."""

from __future__ import annotations

import numpy as np
import pytest

from caffe_layers.helpers import assert_close, check_golden, golden_layers, make_layer, opencv_forward, run
from converter.caffe.layers import LAYER_TYPES
from converter.errors import ModelError


@pytest.mark.parametrize(("case", "name"), golden_layers("ReLU"))
def test_matches_caffe(case: str, name: str) -> None:
    check_golden(case, name)


@pytest.mark.parametrize("params", ["", "negative_slope: 0.1", "negative_slope: -2"])
def test_matches_opencv(tmp_path, params: str) -> None:
    x = np.random.default_rng(3).standard_normal((2, 3, 4, 5)).astype(np.float32)
    text = f'name: "r" type: "ReLU" bottom: "x" top: "r" relu_param {{ {params} }}'
    (expected,) = opencv_forward(tmp_path, text, {"x": x})
    assert_close(run(make_layer(text), x)[0], expected)


@pytest.mark.parametrize(("slope", "expected"), [(0, [0, 0, 0, 2]), (0.5, [-1.5, -0.5, 0, 2]),
                                                 (-1, [3, 1, 0, 2]), (3, [-9, -3, 0, 2])])
def test_closed_form(slope: float, expected: list) -> None:
    # relu_layer.cpp: max(x, 0) + negative_slope * min(x, 0), any slope (negative or above 1 too).
    x = np.array([-3, -1, 0, 2], np.float32)
    (y,) = run(make_layer(f'type: "ReLU" top: "y" relu_param {{ negative_slope: {slope} }}'), x)
    np.testing.assert_array_equal(y, expected)


def test_any_shape_and_in_place() -> None:
    layer = make_layer('name: "r" type: "ReLU" bottom: "x" top: "x"')
    assert LAYER_TYPES["ReLU"].output_shapes(layer, [(7,)]) == [(7,)]
    assert LAYER_TYPES["ReLU"].output_shapes(layer, [(2, 3, 4, 5, 6)]) == [(2, 3, 4, 5, 6)]


def test_takes_exactly_one_bottom() -> None:
    with pytest.raises(ModelError, match="layer 'r'"):
        LAYER_TYPES["ReLU"].output_shapes(make_layer('name: "r" type: "ReLU" top: "y"'), [(1, 2), (1, 2)])
