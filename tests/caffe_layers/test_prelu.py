"""PReLU against BVLC Caffe (golden: per-channel slopes) and OpenCV (channel_shared)."""

from __future__ import annotations

import numpy as np
import pytest

from caffe_layers.helpers import assert_close, check_golden, golden_layers, make_layer, opencv_forward, run
from converter.caffe.layers import LAYER_TYPES
from converter.errors import ModelError

PRELU = LAYER_TYPES["PReLU"]


@pytest.mark.parametrize(("case", "name"), golden_layers("PReLU"))
def test_matches_caffe(case: str, name: str) -> None:
    check_golden(case, name)


def test_closed_form_per_channel() -> None:
    x = np.array([[-2, 3], [-4, -1]], np.float32).reshape(1, 2, 2)
    (y,) = run(make_layer('type: "PReLU" top: "y"', blobs=[[0.5, 0.25]]), x)
    np.testing.assert_array_equal(y.ravel(), [-1, 3, -1, -0.25])


def test_channel_shared(tmp_path) -> None:
    text = 'name: "p" type: "PReLU" bottom: "x" top: "p" prelu_param { channel_shared: true }'
    layer = make_layer(text)
    assert PRELU.blob_shapes(layer, [(1, 3, 2, 2)]) == [()]
    x = np.array([-2, 1, -4, 0.5], np.float32).reshape(1, 2, 2, 1)
    layer.blobs = [np.array(0.25, np.float32)]
    (y,) = run(layer, x)
    np.testing.assert_array_equal(y.ravel(), [-0.5, 1, -1, 0.5])
    x = np.random.default_rng(10).standard_normal((2, 3, 4, 5)).astype(np.float32)
    # Caffe keeps the shared slope in a 0-axis blob, which OpenCV cannot create: it gets one of 1 element.
    (expected,) = opencv_forward(tmp_path, text, {"x": x}, [np.array([0.25], np.float32)])
    assert_close(run(layer, x)[0], expected)


def test_rejects_one_axis() -> None:
    with pytest.raises(ModelError):
        PRELU.output_shapes(make_layer('name: "p" type: "PReLU" top: "y"'), [(5,)])
