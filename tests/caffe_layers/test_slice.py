"""Slice (absent from the golden cases): against OpenCV; negative axes and legacy slice_dim, which
OpenCV's importer mishandles, by hand."""

from __future__ import annotations

import numpy as np
import pytest

from caffe_layers.helpers import assert_close, make_layer, opencv_forward, run
from converter.caffe.layers import LAYER_TYPES
from converter.errors import ModelError

SLICE = LAYER_TYPES["Slice"]


@pytest.mark.parametrize(
    ("params", "tops"),
    [("slice_point: 1 slice_point: 3", 3), ("axis: 3 slice_point: 1", 2), ("axis: 2 slice_point: 2", 2)],
)
def test_matches_opencv(tmp_path, params: str, tops: int) -> None:
    x = np.random.default_rng(19).standard_normal((2, 4, 5, 6)).astype(np.float32)
    names = " ".join(f'top: "t{i}"' for i in range(tops))
    text = f'name: "s" type: "Slice" bottom: "x" {names} slice_param {{ {params} }}'
    expected = opencv_forward(tmp_path, text, {"x": x})
    actual = run(make_layer(text), x)
    assert len(actual) == len(expected) == tops
    for a, e in zip(actual, expected, strict=True):
        assert_close(a, e)


def test_equal_parts_negative_axis_and_slice_dim_by_hand() -> None:
    # OpenCV's importer cannot split into equal parts without slice points, nor take slice_dim.
    x = np.arange(8, dtype=np.float32).reshape(1, 4, 2)
    parts = run(make_layer('type: "Slice" top: "a" top: "b" top: "c" top: "d"'), x)
    assert [p.tolist() for p in parts] == [[[[0, 1]]], [[[2, 3]]], [[[4, 5]]], [[[6, 7]]]]
    x = np.arange(12, dtype=np.float32).reshape(2, 6)
    a, b = run(make_layer('type: "Slice" top: "a" top: "b" slice_param { axis: -1 slice_point: 4 }'), x)
    np.testing.assert_array_equal(a, [[0, 1, 2, 3], [6, 7, 8, 9]])
    np.testing.assert_array_equal(b, [[4, 5], [10, 11]])
    a, b = run(make_layer('type: "Slice" top: "a" top: "b" slice_param { slice_dim: 0 }'), x)
    np.testing.assert_array_equal(a, [[0, 1, 2, 3, 4, 5]])
    np.testing.assert_array_equal(b, [[6, 7, 8, 9, 10, 11]])


@pytest.mark.parametrize(
    ("params", "tops", "shape"),
    [
        ("", 3, (1, 4)),  # does not divide evenly
        ("slice_point: 2", 3, (1, 4)),  # one point too few
        ("slice_point: 3 slice_point: 2", 3, (1, 4)),  # not increasing
        ("slice_point: 0", 2, (1, 4)),  # empty first piece
        ("slice_point: 4", 2, (1, 4)),  # empty last piece
        ("axis: 2", 2, (1, 4)),
        ("slice_dim: 2", 2, (1, 4)),
        ("axis: 1 slice_dim: 1", 2, (1, 4)),
        ("", 0, (1, 4)),
    ],
)
def test_rejects_impossible_configurations(params: str, tops: int, shape: tuple) -> None:
    names = " ".join(f'top: "t{i}"' for i in range(tops))
    with pytest.raises(ModelError, match="sl"):
        SLICE.output_shapes(make_layer(f'name: "sl" type: "Slice" {names} slice_param {{ {params} }}'), [shape])
