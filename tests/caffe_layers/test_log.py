"""Log (absent from the golden cases). OpenCV's importer runs it as a plain natural log (it ignores base,
scale and shift), so it is the oracle only for the defaults; the rest is checked in closed form."""

from __future__ import annotations

import numpy as np
import pytest

from caffe_layers.helpers import assert_close, make_layer, opencv_forward, run
from converter.caffe.layers import LAYER_TYPES
from converter.errors import ModelError


def test_default_matches_opencv(tmp_path) -> None:
    x = np.abs(np.random.default_rng(18).standard_normal((2, 3, 4, 5))).astype(np.float32) + 0.01
    text = 'name: "l" type: "Log" bottom: "x" top: "l"'
    (expected,) = opencv_forward(tmp_path, text, {"x": x})
    assert_close(run(make_layer(text), x)[0], expected)


def test_closed_form() -> None:
    x = np.array([0, 2, 47.5], np.float32)
    (y,) = run(make_layer('type: "Log" top: "y" log_param { base: 10 scale: 2 shift: 5 }'), x)
    np.testing.assert_allclose(y, [np.log10(5), np.log10(9), 2], rtol=1e-6)  # log10(5 + 2x)
    (y,) = run(make_layer('type: "Log" top: "y" log_param { base: 2 }'), np.array([8, 0.25], np.float32))
    np.testing.assert_allclose(y, [3, -2], rtol=1e-6)
    (y,) = run(make_layer('type: "Log" top: "y"'), np.array([np.e, 0, -1], np.float32))
    np.testing.assert_allclose(y, [1, -np.inf, np.nan], rtol=1e-6)


def test_rejects_non_positive_base() -> None:
    with pytest.raises(ModelError):
        LAYER_TYPES["Log"].output_shapes(make_layer('name: "l" type: "Log" top: "y" log_param { base: 0 }'), [(1, 2)])


def test_rejects_base_one() -> None:
    # log_layer.cpp: 1 / log(1) is infinite, and Caffe CHECKs that base_scale_ is finite.
    with pytest.raises(ModelError, match="base"):
        LAYER_TYPES["Log"].output_shapes(make_layer('name: "l" type: "Log" top: "y" log_param { base: 1 }'), [(1, 2)])


@pytest.mark.parametrize("base", [10.0, 2.0, 3.0, 0.5])
def test_base_factor_is_caffes_float32_reciprocal(base: float) -> None:
    # log_layer.cpp: base_scale_ = Dtype(1) / log(base), in float32 (for base 10 that is 0.43429446,
    # one ulp below the float32 nearest 1 / ln 10); both the reference and the lifted IR use it.
    from converter.lift import CONVERTERS

    text = f'name: "l" type: "Log" bottom: "x" top: "y" log_param {{ base: {base} scale: 2 shift: 1 }}'
    caffe_factor = np.float32(1) / np.log(np.float32(base))
    x = np.array([0.5, 1.5, 20.0], np.float32)
    (y,) = run(make_layer(text), x)
    np.testing.assert_array_equal(y, np.log(x * np.float32(2) + np.float32(1)) * caffe_factor)
    node = CONVERTERS["Log"](make_layer(text))
    assert (node.scale, node.shift, np.float32(node.factor)) == (2.0, 1.0, caffe_factor)
