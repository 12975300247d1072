"""Concat against BVLC Caffe (golden: SqueezeNet's Fire concats, layer_zoo) and hand-written cases."""

from __future__ import annotations

import numpy as np
import pytest

from caffe_layers.helpers import check_golden, golden_layers, make_layer, run
from converter.caffe.layers import LAYER_TYPES
from converter.errors import ModelError

CONCAT = LAYER_TYPES["Concat"]


@pytest.mark.parametrize(("case", "name"), golden_layers("Concat"))
def test_matches_caffe(case: str, name: str) -> None:
    check_golden(case, name)


@pytest.mark.parametrize("params", ["axis: -1", "axis: 2", "concat_dim: 2"])
def test_other_axes(params: str) -> None:
    layer = make_layer(f'name: "cat" type: "Concat" top: "y" concat_param {{ {params} }}')
    a = np.array([1, 2, 3, 4], np.float32).reshape(1, 2, 2)
    b = np.array([5, 6], np.float32).reshape(1, 2, 1)
    (y,) = run(layer, a, b)
    np.testing.assert_array_equal(y, [[[1, 2, 5], [3, 4, 6]]])


def test_default_axis_is_channels() -> None:
    layer = make_layer('name: "cat" type: "Concat" top: "y"')
    assert CONCAT.output_shapes(layer, [(2, 3, 4, 5), (2, 7, 4, 5), (2, 1, 4, 5)]) == [(2, 11, 4, 5)]


@pytest.mark.parametrize(
    ("params", "bottoms"),
    [
        ("", [(1, 3, 4, 5), (1, 3, 4, 6)]),  # mismatch off the concat axis
        ("", [(1, 3, 4, 5), (1, 3, 4)]),  # different number of axes
        ("axis: 4", [(1, 3, 4, 5), (1, 3, 4, 5)]),
        ("axis: -5", [(1, 3, 4, 5), (1, 3, 4, 5)]),
        ("axis: 1 concat_dim: 1", [(1, 3, 4, 5), (1, 3, 4, 5)]),
        ("", []),
    ],
)
def test_rejects_impossible_configurations(params: str, bottoms: list) -> None:
    layer = make_layer(f'name: "cat" type: "Concat" top: "y" concat_param {{ {params} }}')
    with pytest.raises(ModelError, match="cat"):
        CONCAT.output_shapes(layer, bottoms)
