"""Power (absent from the golden cases): against OpenCV and closed form, including Caffe's constant cases."""

from __future__ import annotations

import numpy as np
import pytest

from caffe_layers.helpers import assert_close, make_layer, opencv_forward, run


@pytest.mark.parametrize("params", ["power: 2 scale: 0.5 shift: 1", "power: 3 scale: -1.5 shift: 0.25", "",
                                    "power: 1 scale: 2 shift: -3"])
def test_matches_opencv(tmp_path, params: str) -> None:
    x = np.random.default_rng(16).standard_normal((2, 3, 4, 5)).astype(np.float32)
    text = f'name: "p" type: "Power" bottom: "x" top: "p" power_param {{ {params} }}'
    (expected,) = opencv_forward(tmp_path, text, {"x": x})
    assert_close(run(make_layer(text), x)[0], expected)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ("power: 2 scale: 3 shift: 1", [1, 16, 196]),  # (1 + 3x)^2
        ("power: 0.5 shift: 4", [2, np.sqrt(5), np.nan]),  # sqrt(4 + x): negative base gives NaN
        ("power: 0 scale: 2 shift: 7", [1, 1, 1]),  # power 0: ones
        ("power: 3 scale: 0 shift: 2", [8, 8, 8]),  # scale 0: shift^power everywhere
    ],
)
def test_closed_form(params: str, expected: list) -> None:
    x = np.array([0, 1, -5], np.float32)
    (y,) = run(make_layer(f'type: "Power" top: "y" power_param {{ {params} }}'), x)
    np.testing.assert_allclose(y, expected, rtol=1e-6)


def test_constant_cases_never_read_the_bottom() -> None:
    # power_layer.cpp fills the top when power * scale == 0 without reading the bottom: inf and NaN too.
    x = np.array([np.inf, -np.inf, np.nan], np.float32)
    (y,) = run(make_layer('type: "Power" top: "y" power_param { power: 2 scale: 0 shift: 3 }'), x)
    np.testing.assert_array_equal(y, [9, 9, 9])
    (y,) = run(make_layer('type: "Power" top: "y" power_param { power: 0 scale: 2 }'), x)
    np.testing.assert_array_equal(y, [1, 1, 1])
