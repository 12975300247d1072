"""InnerProduct against BVLC Caffe (golden: on a 4-D bottom) and OpenCV/closed form (axis, transpose)."""

from __future__ import annotations

import numpy as np
import pytest

from caffe_layers.helpers import assert_close, check_golden, golden_layers, make_layer, opencv_forward, run
from converter.caffe.layers import LAYER_TYPES
from converter.errors import ModelError

IP = LAYER_TYPES["InnerProduct"]


@pytest.mark.parametrize(("case", "name"), golden_layers("InnerProduct"))
def test_matches_caffe(case: str, name: str) -> None:
    check_golden(case, name)


# OpenCV's importer ignores `transpose` (it reads a (K, N) blob as (N, K)); the closed form below covers it.
@pytest.mark.parametrize("params", ["num_output: 7", "num_output: 7 axis: 2", "num_output: 7 bias_term: false"])
def test_matches_opencv(tmp_path, params: str) -> None:
    rng = np.random.default_rng(11)
    x = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    text = f'name: "fc" type: "InnerProduct" bottom: "x" top: "fc" inner_product_param {{ {params} }}'
    layer = make_layer(text)
    layer.blobs = [rng.standard_normal(s).astype(np.float32) for s in IP.blob_shapes(layer, [x.shape])]
    (actual,) = run(layer, x)
    (expected,) = opencv_forward(tmp_path, text, {"x": x}, layer.blobs)
    assert_close(actual, expected.reshape(actual.shape))


def test_closed_form_axis_and_transpose() -> None:
    x = np.array([1, 2, 3, 4], np.float32).reshape(1, 2, 2)
    plain = make_layer('type: "InnerProduct" top: "y" inner_product_param { num_output: 1 axis: 2 }')
    assert IP.blob_shapes(plain, [x.shape]) == [(1, 2), (1,)]
    plain.blobs = [np.array([[10, 1]], np.float32), np.array([0.5], np.float32)]
    np.testing.assert_array_equal(run(plain, x)[0], [[[12.5], [34.5]]])
    flipped = make_layer('type: "InnerProduct" top: "y" inner_product_param { num_output: 3 transpose: true '
                         'bias_term: false }')
    assert IP.blob_shapes(flipped, [x.shape]) == [(4, 3)]
    flipped.blobs = [np.eye(4, 3, dtype=np.float32)]
    np.testing.assert_array_equal(run(flipped, x)[0], [[1, 2, 3]])
    assert IP.output_shapes(flipped, [(2, 3, 4, 5)]) == [(2, 3)]


@pytest.mark.parametrize(("params", "bottoms"), [("num_output: 0", [(1, 4)]), ("num_output: 2 axis: 2", [(1, 4)]),
                                                 ("num_output: 2", [(1, 4), (1, 4)])])
def test_rejects_impossible_configurations(params: str, bottoms: list) -> None:
    layer = make_layer(f'name: "fc" type: "InnerProduct" top: "y" inner_product_param {{ {params} }}')
    with pytest.raises(ModelError, match="fc"):
        IP.output_shapes(layer, bottoms)
