"""Scale against BVLC Caffe (golden: layer_zoo and MobileNets, bias_term) and OpenCV (axes, second bottom)."""

from __future__ import annotations

import numpy as np
import pytest

from caffe_layers.helpers import assert_close, check_golden, golden_layers, make_layer, opencv_forward, run
from converter.caffe.layers import LAYER_TYPES
from converter.errors import ModelError

SCALE = LAYER_TYPES["Scale"]


@pytest.mark.parametrize(("case", "name"), golden_layers("Scale"))
def test_matches_caffe(case: str, name: str) -> None:
    check_golden(case, name)


@pytest.mark.parametrize(
    ("params", "blob_shapes"),
    [
        ("", [(3,)]),
        ("bias_term: true", [(3,), (3,)]),
        ("axis: 1 num_axes: 2 bias_term: true", [(3, 4), (3, 4)]),
        ("axis: -1", [(5,)]),
        ("axis: 0 num_axes: -1", [(2, 3, 4, 5)]),
        ("num_axes: 0 bias_term: true", [(), ()]),
    ],
)
def test_one_bottom(params: str, blob_shapes: list) -> None:
    x = np.random.default_rng(6).standard_normal((2, 3, 4, 5)).astype(np.float32)
    layer = make_layer(f'name: "s" type: "Scale" bottom: "x" top: "s" scale_param {{ {params} }}')
    assert SCALE.blob_shapes(layer, [x.shape]) == blob_shapes
    rng = np.random.default_rng(7)
    layer.blobs = [rng.standard_normal(s).astype(np.float32) for s in blob_shapes]
    (actual,) = run(layer, x)
    # Written out with explicit indices rather than the broadcasting helper under test.
    expected = np.empty_like(x)
    for idx in np.ndindex(x.shape):
        operand = {"": idx[1:2], "b": idx[1:2], "2": idx[1:3], "-1": idx[3:], "all": idx, "0": ()}
        key = {"": "", "bias_term: true": "b", "axis: 1 num_axes: 2 bias_term: true": "2", "axis: -1": "-1",
               "axis: 0 num_axes: -1": "all", "num_axes: 0 bias_term: true": "0"}[params]
        value = x[idx] * layer.blobs[0][operand[key]]
        expected[idx] = value + layer.blobs[1][operand[key]] if len(layer.blobs) == 2 else value
    assert_close(actual, expected)


# OpenCV's importer drops the second bottom's scale when the layer also has a bias (it computes x + bias),
# so it is the oracle only without bias_term; the bias case is worked by hand below.
@pytest.mark.parametrize("params", ["axis: 0", "axis: 1", "axis: 2"])
def test_second_bottom_matches_opencv(tmp_path, params: str) -> None:
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    s = rng.standard_normal({"axis: 0": (2, 3), "axis: 1": (3, 4), "axis: 2": (4, 5)}[params]).astype(np.float32)
    text = f'name: "s" type: "Scale" bottom: "x" bottom: "w" top: "s" scale_param {{ {params} }}'
    layer = make_layer(text)
    shapes = SCALE.blob_shapes(layer, [x.shape, s.shape])
    assert shapes == []
    layer.blobs = [rng.standard_normal(shape).astype(np.float32) for shape in shapes]
    (actual,) = run(layer, x, s)
    (expected,) = opencv_forward(tmp_path, text, {"x": x, "w": s}, layer.blobs)
    assert_close(actual, expected)


def test_second_bottom_with_bias() -> None:
    x = np.ones((1, 3, 4, 2), np.float32)
    layer = make_layer('name: "s" type: "Scale" bottom: "x" bottom: "w" top: "s" scale_param { bias_term: true }')
    # Caffe's inner Bias layer spans as many axes as bottom[1] has: here (3, 4) from axis 1.
    assert SCALE.blob_shapes(layer, [x.shape, (3, 4)]) == [(3, 4)]
    layer.blobs = [np.arange(12, dtype=np.float32).reshape(3, 4)]
    (y,) = run(layer, x, np.full((3, 4), 2, np.float32))
    np.testing.assert_array_equal(y[0, :, :, 0], np.arange(2, 14).reshape(3, 4))
    np.testing.assert_array_equal(y[0, :, :, 1], np.arange(2, 14).reshape(3, 4))


@pytest.mark.parametrize(
    ("params", "bottoms"),
    [
        ("", [(2, 3, 4), (4,)]),  # second bottom does not match bottom[0] from axis 1
        ("axis: 2", [(2, 3, 4), (4, 2)]),  # extends past bottom[0]
        ("num_axes: 4", [(2, 3, 4)]),
        ("num_axes: -2", [(2, 3, 4)]),
        ("axis: 3", [(2, 3, 4)]),
        ("", [(2, 3), (3,), (3,)]),
    ],
)
def test_rejects_impossible_configurations(params: str, bottoms: list) -> None:
    with pytest.raises(ModelError, match="sc"):
        SCALE.output_shapes(make_layer(f'name: "sc" type: "Scale" top: "y" scale_param {{ {params} }}'), bottoms)
