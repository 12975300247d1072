"""Reshape (absent from the golden cases): against OpenCV and by hand (negative axis, which OpenCV rejects)."""

from __future__ import annotations

import numpy as np
import pytest

from caffe_layers.helpers import assert_close, make_layer, opencv_forward, run
from converter.caffe.layers import LAYER_TYPES
from converter.errors import ModelError

RESHAPE = LAYER_TYPES["Reshape"]


@pytest.mark.parametrize(
    "params",
    ["shape { dim: 0 dim: -1 dim: 3 }", "shape { dim: 2 dim: 3 } axis: 3 num_axes: 1", "shape { dim: -1 }",
     "shape { dim: 0 dim: 0 dim: 30 }", "shape { dim: 4 dim: -1 } axis: 1 num_axes: 2"],
)
def test_matches_opencv(tmp_path, params: str) -> None:
    x = np.random.default_rng(21).standard_normal((2, 4, 5, 6)).astype(np.float32)
    text = f'name: "r" type: "Reshape" bottom: "x" top: "r" reshape_param {{ {params} }}'
    (expected,) = opencv_forward(tmp_path, text, {"x": x})
    (actual,) = run(make_layer(text), x)
    if actual.ndim == 1:
        expected = expected.reshape(-1)  # OpenCV's Mats have at least two axes
    assert_close(actual, expected)


@pytest.mark.parametrize(
    ("params", "shape"),
    [
        ("shape { dim: 0 dim: -1 dim: 3 }", (2, 40, 3)),
        ("shape { dim: -1 } axis: -3", (2, 4, 30)),  # axis -1 means after the last axis
        ("shape { dim: 1 } axis: -1 num_axes: 0", (2, 4, 5, 6, 1)),
        ("shape { dim: 1 } axis: 0 num_axes: 0", (1, 2, 4, 5, 6)),
        ("shape { dim: 0 dim: 2 dim: -1 } axis: 1", (2, 4, 2, 15)),
    ],
)
def test_shapes(params: str, shape: tuple) -> None:
    layer = make_layer(f'type: "Reshape" bottom: "x" top: "r" reshape_param {{ {params} }}')
    assert RESHAPE.output_shapes(layer, [(2, 4, 5, 6)]) == [shape]
    (y,) = run(layer, np.arange(240, dtype=np.float32).reshape(2, 4, 5, 6))
    np.testing.assert_array_equal(y.ravel(), np.arange(240))


@pytest.mark.parametrize(
    "params",
    [
        "shape { dim: -1 dim: -1 }",
        "shape { dim: 7 dim: -1 }",  # 240 does not divide by 7
        "shape { dim: 2 dim: 3 } axis: 2 num_axes: 1",  # 5 elements cannot become 6
        "shape { dim: 0 dim: 0 } axis: 3",  # no bottom axis to copy for the second 0
        "shape { dim: -1 } axis: 5",
        "shape { dim: -1 } axis: 2 num_axes: 3",
        "shape { dim: -2 dim: -120 }",
    ],
)
def test_rejects_impossible_configurations(params: str) -> None:
    layer = make_layer(f'name: "rs" type: "Reshape" bottom: "x" top: "y" reshape_param {{ {params} }}')
    with pytest.raises(ModelError, match="rs"):
        RESHAPE.output_shapes(layer, [(2, 4, 5, 6)])


def test_rejects_in_place() -> None:
    with pytest.raises(ModelError, match="in-place"):
        RESHAPE.output_shapes(make_layer('name: "rs" type: "Reshape" bottom: "x" top: "x" reshape_param '
                                         '{ shape { dim: -1 } }'), [(2, 3)])
