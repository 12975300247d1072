"""Softmax against BVLC Caffe (golden: 2-D and 4-D over channels), OpenCV (other axes) and closed form."""

from __future__ import annotations

import math

import numpy as np
import pytest

from caffe_layers.helpers import assert_close, check_golden, golden_layers, make_layer, opencv_forward, run
from converter.caffe.layers import LAYER_TYPES
from converter.errors import ModelError


@pytest.mark.parametrize(("case", "name"), golden_layers("Softmax"))
def test_matches_caffe(case: str, name: str) -> None:
    check_golden(case, name)


def test_closed_form() -> None:
    x = np.array([[0, math.log(3)], [1000, 1000]], np.float32).reshape(2, 2, 1)
    (y,) = run(make_layer('type: "Softmax" top: "y"'), x)
    np.testing.assert_allclose(y.ravel(), [0.25, 0.75, 0.5, 0.5], rtol=1e-6)


@pytest.mark.parametrize("axis", [1, 2, 3, -1])
def test_matches_opencv(tmp_path, axis: int) -> None:
    x = np.random.default_rng(3).standard_normal((2, 3, 4, 5)).astype(np.float32) * 4
    text = f'name: "s" type: "Softmax" bottom: "x" top: "s" softmax_param {{ axis: {axis} }}'
    (expected,) = opencv_forward(tmp_path, text, {"x": x})
    (actual,) = run(make_layer(text), x)
    assert_close(actual, expected)
    np.testing.assert_allclose(actual.sum(axis=axis), 1, rtol=1e-5)


def test_rejects_bad_axis() -> None:
    with pytest.raises(ModelError):
        LAYER_TYPES["Softmax"].output_shapes(make_layer('name: "s" type: "Softmax" top: "y" softmax_param '
                                                        '{ axis: 2 }'), [(4, 10)])
