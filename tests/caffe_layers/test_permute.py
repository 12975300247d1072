"""Permute (SSD fork): against OpenCV's Permute and numpy's transpose; orders left out follow in
their own order; duplicate or out-of-range orders are refused as the fork refuses them."""

from __future__ import annotations

import numpy as np
import pytest

from caffe_layers.helpers import assert_close, make_layer, opencv_forward, run
from converter.caffe.layers import LAYER_TYPES
from converter.errors import ModelError

PERMUTE = LAYER_TYPES["Permute"]


@pytest.mark.parametrize("orders", [(0, 2, 3, 1), (0, 3, 1, 2), (1, 0, 2, 3), (0, 1, 2, 3)])
def test_matches_opencv(tmp_path, orders: tuple[int, ...]) -> None:
    x = np.random.default_rng(7).standard_normal((2, 3, 4, 5)).astype(np.float32)
    body = " ".join(f"order: {o}" for o in orders)
    text = f'name: "p" type: "Permute" bottom: "x" top: "p" permute_param {{ {body} }}'
    (expected,) = opencv_forward(tmp_path, text, {"x": x})
    (actual,) = run(make_layer(text), x)
    assert_close(actual, expected)
    np.testing.assert_array_equal(actual, np.transpose(x, orders))


@pytest.mark.parametrize(("orders", "full"), [((0, 2), (0, 2, 1, 3)), ((3,), (3, 0, 1, 2)), ((), (0, 1, 2, 3))])
def test_left_out_axes_follow_in_order(orders: tuple[int, ...], full: tuple[int, ...]) -> None:
    layer = make_layer('type: "Permute" bottom: "x" top: "p" permute_param { '
                       + " ".join(f"order: {o}" for o in orders) + " }")
    x = np.arange(120, dtype=np.float32).reshape(2, 3, 4, 5)
    assert PERMUTE.output_shapes(layer, [x.shape]) == [tuple(x.shape[a] for a in full)]
    (y,) = run(layer, x)
    np.testing.assert_array_equal(y, np.transpose(x, full))


@pytest.mark.parametrize(("body", "message"), [("order: 0 order: 0", "duplicate"), ("order: 4", "less than"),
                                               ("", "in-place")])
def test_refuses(body: str, message: str) -> None:
    top = "x" if not body else "p"
    layer = make_layer(f'name: "bad" type: "Permute" bottom: "x" top: "{top}" permute_param {{ {body} }}')
    with pytest.raises(ModelError, match=f"bad.*{message}"):
        PERMUTE.output_shapes(layer, [(2, 3, 4, 5)])
