"""Crop (BVLC crop_layer.cpp) against OpenCV's importer, and the bounds Caffe checks."""

from __future__ import annotations

import numpy as np
import pytest

from caffe_layers.helpers import assert_close, make_layer, opencv_forward, run
from converter.caffe.layers import LAYER_TYPES
from converter.errors import ModelError

CROP = LAYER_TYPES["Crop"]


@pytest.mark.parametrize(
    ("params", "reference"),
    [("", (1, 1, 4, 5)), ("offset: 2", (1, 1, 4, 4)), ("axis: 2 offset: 1 offset: 3", (1, 1, 5, 3)),
     ("axis: 1 offset: 1", (1, 2, 3, 3)), ("axis: -1 offset: 4", (1, 1, 1, 2)),
     ("axis: 1 offset: 1 offset: 0 offset: 2", (2, 2, 5, 3))],
)
def test_matches_opencv(tmp_path, params: str, reference: tuple) -> None:
    x = np.random.default_rng(5).standard_normal((2, 4, 7, 6)).astype(np.float32)
    shape_of = np.zeros(reference, np.float32)
    text = f'name: "c" type: "Crop" bottom: "x" bottom: "ref" top: "c" crop_param {{ {params} }}'
    (expected,) = opencv_forward(tmp_path, text, {"x": x, "ref": shape_of})
    (actual,) = run(make_layer(text), x, shape_of)
    assert_close(actual, expected)


def test_fcn_style_crop_by_hand() -> None:
    # FCN-8s: upscore (axis 2, offset 19) cut to the data's spatial size; batch and channels kept.
    x = np.arange(2 * 3 * 40 * 41, dtype=np.float32).reshape(2, 3, 40, 41)
    (y,) = run(make_layer('type: "Crop" bottom: "x" bottom: "d" top: "y" crop_param { axis: 2 offset: 19 }'),
               x, np.zeros((1, 5, 8, 9), np.float32))
    np.testing.assert_array_equal(y, x[:, :, 19:27, 19:28])


@pytest.mark.parametrize(
    ("params", "shapes", "message"),
    [("offset: 3", [(1, 2, 5, 5), (1, 2, 3, 3)], "out of bounds"),
     ("axis: 1 offset: 1 offset: 1", [(1, 2, 5, 5), (1, 2, 3, 3)], "2 offsets for 3 cropped axes"),
     ("axis: 4", [(1, 2, 5, 5), (1, 2, 3, 3)], "axis 4 out of range"),
     ("", [(1, 2, 5, 5), (3, 3)], "fewer axes"),
     ("", [(1, 2, 5, 5)], "takes 2 bottom"),
     ("", [(1, 2, 2, 2), (1, 2, 3, 3)], "out of bounds")],
)
def test_rejects_what_caffe_rejects(params: str, shapes: list, message: str) -> None:
    layer = make_layer(f'name: "cr" type: "Crop" top: "y" crop_param {{ {params} }}')
    with pytest.raises(ModelError, match=message):
        CROP.output_shapes(layer, shapes)
