"""ELU (absent from the golden cases): against OpenCV and closed form."""

from __future__ import annotations

import math

import numpy as np
import pytest

from caffe_layers.helpers import assert_close, make_layer, opencv_forward, run


@pytest.mark.parametrize("params", ["", "elu_param { alpha: 0.3 }"])
def test_matches_opencv(tmp_path, params: str) -> None:
    x = np.random.default_rng(14).standard_normal((2, 3, 4, 5)).astype(np.float32) * 3
    text = f'name: "e" type: "ELU" bottom: "x" top: "e" {params}'
    (expected,) = opencv_forward(tmp_path, text, {"x": x})
    assert_close(run(make_layer(text), x)[0], expected)


def test_closed_form() -> None:
    x = np.array([2, 0, -1], np.float32)
    (y,) = run(make_layer('type: "ELU" top: "y" elu_param { alpha: 0.5 }'), x)
    np.testing.assert_allclose(y, [2, 0, 0.5 * (math.exp(-1) - 1)], rtol=1e-6)
    (y,) = run(make_layer('type: "ELU" top: "y"'), x)  # alpha defaults to 1
    np.testing.assert_allclose(y, [2, 0, math.exp(-1) - 1], rtol=1e-6)
