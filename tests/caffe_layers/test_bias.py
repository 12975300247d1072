"""Bias (absent from the golden cases, and OpenCV's Caffe importer cannot create a "Bias" layer):
checked in closed form, with expected values written out or indexed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from caffe_layers.helpers import make_layer, run
from converter.caffe.layers import LAYER_TYPES
from converter.errors import ModelError

BIAS = LAYER_TYPES["Bias"]


def test_per_channel_blob() -> None:
    x = np.zeros((1, 2, 1, 3), np.float32)
    layer = make_layer('type: "Bias" top: "y"', blobs=[[10, 20]])
    assert BIAS.blob_shapes(layer, [x.shape]) == [(2,)]
    (y,) = run(layer, x)
    np.testing.assert_array_equal(y, [[[[10, 10, 10]], [[20, 20, 20]]]])


def test_axes_and_num_axes() -> None:
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    layer = make_layer('type: "Bias" top: "y" bias_param { axis: -2 num_axes: -1 }')
    assert BIAS.blob_shapes(layer, [x.shape]) == [(3, 4)]
    layer.blobs = [np.full((3, 4), 100, np.float32)]
    layer.blobs[0][2, 3] = -100
    (y,) = run(layer, x)
    assert y[0, 0, 0] == 100 and y[1, 2, 3] == 23 - 100 and y[0, 2, 3] == 11 - 100
    scalar = make_layer('type: "Bias" top: "y" bias_param { num_axes: 0 }', blobs=[np.array(0.5, np.float32)])
    assert BIAS.blob_shapes(scalar, [x.shape]) == [()]
    assert run(scalar, x)[0][1, 2, 3] == 23.5


def test_second_bottom() -> None:
    layer = make_layer('type: "Bias" top: "y" bias_param { axis: 0 }')
    assert BIAS.blob_shapes(layer, [(2, 3), (2,)]) == []
    (y,) = run(layer, np.ones((2, 3), np.float32), np.array([1, -1], np.float32))
    np.testing.assert_array_equal(y, [[2, 2, 2], [0, 0, 0]])


@pytest.mark.parametrize(("params", "bottoms"), [("", [(2, 3), (2,)]), ("axis: 2", [(2, 3)]),
                                                 ("num_axes: 2", [(2, 3)]), ("", [(2, 3), (3,), (3,)])])
def test_rejects_impossible_configurations(params: str, bottoms: list) -> None:
    with pytest.raises(ModelError, match="'b'"):
        BIAS.output_shapes(make_layer(f'name: "b" type: "Bias" top: "y" bias_param {{ {params} }}'), bottoms)
