"""Sigmoid against BVLC Caffe (golden: layer_zoo) and closed form."""

from __future__ import annotations

import numpy as np
import pytest

from caffe_layers.helpers import check_golden, golden_layers, make_layer, run


@pytest.mark.parametrize(("case", "name"), golden_layers("Sigmoid"))
def test_matches_caffe(case: str, name: str) -> None:
    check_golden(case, name)


def test_closed_form() -> None:
    x = np.array([0, np.log(3), -np.log(3), 100, -100], np.float32)
    (y,) = run(make_layer('type: "Sigmoid" top: "y"'), x)
    np.testing.assert_allclose(y, [0.5, 0.75, 0.25, 1, 0], atol=1e-7)
