"""Eltwise against BVLC Caffe (golden: SUM with coefficients, PROD, MAX) and OpenCV (three bottoms)."""

from __future__ import annotations

import numpy as np
import pytest

from caffe_layers.helpers import assert_close, check_golden, golden_layers, make_layer, opencv_forward, run
from converter.caffe.layers import LAYER_TYPES
from converter.errors import ModelError

ELTWISE = LAYER_TYPES["Eltwise"]


@pytest.mark.parametrize(("case", "name"), golden_layers("Eltwise"))
def test_matches_caffe(case: str, name: str) -> None:
    check_golden(case, name)


@pytest.mark.parametrize("params", ["", "operation: SUM coeff: 0.5 coeff: -2 coeff: 3", "operation: PROD",
                                    "operation: MAX"])
def test_three_bottoms_match_opencv(tmp_path, params: str) -> None:
    rng = np.random.default_rng(9)
    xs = {name: rng.standard_normal((2, 3, 4, 5)).astype(np.float32) for name in "abc"}
    text = f'name: "e" type: "Eltwise" bottom: "a" bottom: "b" bottom: "c" top: "e" eltwise_param {{ {params} }}'
    (expected,) = opencv_forward(tmp_path, text, xs)
    (actual,) = run(make_layer(text), *xs.values())
    assert_close(actual, expected)


def test_closed_form() -> None:
    a, b = np.array([[1, -2, 3]], np.float32), np.array([[4, 5, -6]], np.float32)
    def op(params: str) -> np.ndarray:
        return run(make_layer(f'type: "Eltwise" top: "y" eltwise_param {{ {params} }}'), a, b)[0].ravel()
    np.testing.assert_array_equal(op(""), [5, 3, -3])
    np.testing.assert_array_equal(op("coeff: 2 coeff: -1"), [-2, -9, 12])
    np.testing.assert_array_equal(op("operation: PROD"), [4, -10, -18])
    np.testing.assert_array_equal(op("operation: MAX"), [4, 5, 3])


def test_max_ignores_coefficients() -> None:
    # eltwise_layer.cpp only refuses coefficients for PROD; MAX takes them and never reads them.
    a, b = np.array([[1, -2, 3]], np.float32), np.array([[4, 5, -6]], np.float32)
    layer = make_layer('type: "Eltwise" top: "y" eltwise_param { operation: MAX coeff: -1 coeff: 2 }')
    np.testing.assert_array_equal(run(layer, a, b)[0].ravel(), [4, 5, 3])


@pytest.mark.parametrize(
    ("params", "bottoms"),
    [
        ("", [(1, 2)]),  # needs at least two bottoms
        ("", [(1, 2), (1, 3)]),
        ("coeff: 1", [(1, 2), (1, 2)]),  # one coefficient per bottom
        ("operation: PROD coeff: 1 coeff: 2", [(1, 2), (1, 2)]),
    ],
)
def test_rejects_impossible_configurations(params: str, bottoms: list) -> None:
    layer = make_layer(f'name: "elt" type: "Eltwise" top: "y" eltwise_param {{ {params} }}')
    with pytest.raises(ModelError, match="elt"):
        ELTWISE.output_shapes(layer, bottoms)
