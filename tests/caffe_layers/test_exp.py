"""Exp (absent from the golden cases): against OpenCV and closed form."""

from __future__ import annotations

import math

import numpy as np
import pytest

from caffe_layers.helpers import assert_close, make_layer, opencv_forward, run
from converter.caffe.layers import LAYER_TYPES
from converter.errors import ModelError


@pytest.mark.parametrize("params", ["", "base: 2 scale: 0.5 shift: 1", "scale: -1 shift: 0.5", "base: 10"])
def test_matches_opencv(tmp_path, params: str) -> None:
    x = np.random.default_rng(17).standard_normal((2, 3, 4, 5)).astype(np.float32)
    text = f'name: "e" type: "Exp" bottom: "x" top: "e" exp_param {{ {params} }}'
    (expected,) = opencv_forward(tmp_path, text, {"x": x})
    assert_close(run(make_layer(text), x)[0], expected)


def test_closed_form() -> None:
    x = np.array([0, 1, 2], np.float32)
    (y,) = run(make_layer('type: "Exp" top: "y" exp_param { base: 3 scale: 2 shift: -1 }'), x)
    np.testing.assert_allclose(y, [1 / 3, 3, 27], rtol=1e-6)  # 3^(2x - 1)
    (y,) = run(make_layer('type: "Exp" top: "y"'), x)
    np.testing.assert_allclose(y, [1, math.e, math.e**2], rtol=1e-6)


@pytest.mark.parametrize("base", ["0", "-2"])
def test_rejects_non_positive_base(base: str) -> None:
    with pytest.raises(ModelError):
        LAYER_TYPES["Exp"].output_shapes(make_layer(f'name: "e" type: "Exp" top: "y" exp_param {{ base: {base} }}'),
                                         [(1, 2)])


def test_shift_factor_is_applied_after_the_exponential() -> None:
    # exp_layer.cpp: exp(inner_scale * x), then times outer_scale = e^shift; exp(95) overflows float32
    # before the e^-10 factor could bring it back (exp(85) alone would be finite).
    x = np.array([95, 0], np.float32)
    with np.errstate(over="ignore"):
        (y,) = run(make_layer('type: "Exp" top: "y" exp_param { shift: -10 }'), x)
    assert y[0] == np.inf
    np.testing.assert_allclose(y[1], math.exp(-10), rtol=1e-6)


@pytest.mark.parametrize(("params", "inner", "outer"), [
    ("", 1.0, 1.0),
    ("base: 2 scale: 0.5 shift: 1", np.log(np.float32(2)) * np.float32(0.5), 2.0),
    ("scale: -1 shift: 0.5", -1.0, np.exp(np.float32(0.5))),
    ("base: 10 shift: -2", np.log(np.float32(10)), np.power(np.float32(10), np.float32(-2))),
])
def test_lifted_as_caffe_computes_it(params: str, inner: float, outer: float) -> None:
    # exp_layer.cpp: inner_scale_ = log(base) * scale, outer_scale_ = pow(base, shift) (exp(shift)
    # for base e), both float32; the IR's Exp is exp(scale * x) * factor with exactly those.
    from converter.lift import CONVERTERS

    node = CONVERTERS["Exp"](make_layer(f'name: "e" type: "Exp" bottom: "x" top: "y" exp_param {{ {params} }}'))
    assert (np.float32(node.scale), np.float32(node.factor)) == (np.float32(inner), np.float32(outer))
