"""TanH against BVLC Caffe (golden: layer_zoo) and closed form."""

from __future__ import annotations

import numpy as np
import pytest

from caffe_layers.helpers import check_golden, golden_layers, make_layer, run


@pytest.mark.parametrize(("case", "name"), golden_layers("TanH"))
def test_matches_caffe(case: str, name: str) -> None:
    check_golden(case, name)


def test_closed_form() -> None:
    x = np.array([0, np.log(2), -np.log(2), 50], np.float32)
    (y,) = run(make_layer('type: "TanH" top: "y"'), x)
    np.testing.assert_allclose(y, [0, 0.6, -0.6, 1], atol=1e-6)  # tanh(ln 2) = (4 - 1) / (4 + 1)
