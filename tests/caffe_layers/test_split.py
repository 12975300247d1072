"""Split (absent from the golden cases, Caffe inserts its own): against OpenCV and by hand."""

from __future__ import annotations

import numpy as np
import pytest

from caffe_layers.helpers import assert_close, make_layer, opencv_forward, run
from converter.caffe.layers import LAYER_TYPES
from converter.errors import ModelError


def test_matches_opencv(tmp_path) -> None:
    x = np.random.default_rng(12).standard_normal((2, 3, 4)).astype(np.float32)
    text = 'name: "sp" type: "Split" bottom: "x" top: "a" top: "b" top: "c"'
    # OpenCV's importer turns a Split into aliases of its bottom and reports only the first top.
    expected = opencv_forward(tmp_path, text, {"x": x})
    actual = run(make_layer(text), x)
    assert len(actual) == 3 and len(expected) >= 1
    for a in actual:
        assert_close(a, expected[0])


def test_copies_to_every_top() -> None:
    x = np.array([[1, -2]], np.float32)
    outputs = run(make_layer('type: "Split" bottom: "x" top: "a" top: "b"'), x)
    assert [o.tolist() for o in outputs] == [[[1, -2]], [[1, -2]]]


@pytest.mark.parametrize("text", ['name: "sp" type: "Split" bottom: "x" top: "a" top: "x"',
                                  'name: "sp" type: "Split" bottom: "x"'])
def test_rejects_in_place_and_no_top(text: str) -> None:
    with pytest.raises(ModelError, match="sp"):
        LAYER_TYPES["Split"].output_shapes(make_layer(text), [(1, 2)])
