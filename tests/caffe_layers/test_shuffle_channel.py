"""ShuffleChannel (ShuffleNet's shuffle_channel_layer.cpp) against OpenCV's importer and a loop
written from the fork's Resize_cpu."""

from __future__ import annotations

import numpy as np
import pytest

from caffe_layers.helpers import assert_close, make_layer, opencv_forward, run
from converter.caffe.layers import LAYER_TYPES
from converter.errors import ModelError


def fork_loop(x: np.ndarray, group: int) -> np.ndarray:
    """Resize_cpu(top, bottom, group_row = group, group_column = C / group, len = H * W) per sample."""
    n, c = x.shape[:2]
    rows, columns = group, c // group
    src, out = x.reshape(n, c, -1), np.empty((n, c, int(np.prod(x.shape[2:]))), np.float32)
    for i in range(rows):
        for j in range(columns):
            out[:, j * rows + i] = src[:, i * columns + j]
    return out.reshape(x.shape)


@pytest.mark.parametrize("group", [1, 2, 3])
def test_matches_the_fork_loop_and_opencv(tmp_path, group: int) -> None:
    x = np.random.default_rng(9).standard_normal((2, 6, 3, 4)).astype(np.float32)
    text = f'name: "s" type: "ShuffleChannel" bottom: "x" top: "s" shuffle_channel_param {{ group: {group} }}'
    (actual,) = run(make_layer(text), x)
    np.testing.assert_array_equal(actual, fork_loop(x, group))
    (expected,) = opencv_forward(tmp_path, text, {"x": x})
    assert_close(actual, expected)


@pytest.mark.parametrize(("group", "message"), [(4, "does not divide"), (0, "greater than 0")])
def test_rejects_groups_that_do_not_divide(group: int, message: str) -> None:
    layer = make_layer(f'name: "s" type: "ShuffleChannel" top: "y" shuffle_channel_param {{ group: {group} }}')
    with pytest.raises(ModelError, match=message):
        LAYER_TYPES["ShuffleChannel"].output_shapes(layer, [(1, 6, 2, 2)])
