"""LRN against BVLC Caffe (golden: ACROSS_CHANNELS with k = 2, WITHIN_CHANNEL) and OpenCV."""

from __future__ import annotations

import numpy as np
import pytest

from caffe_layers.helpers import assert_close, check_golden, golden_layers, make_layer, opencv_forward, run
from converter.caffe.layers import LAYER_TYPES
from converter.errors import ModelError


@pytest.mark.parametrize(("case", "name"), golden_layers("LRN"))
def test_matches_caffe(case: str, name: str) -> None:
    check_golden(case, name)


def test_golden_covers_both_regions() -> None:
    names = [p.values[1] for p in golden_layers("LRN", ["layer_zoo"])]
    assert {"lrn_across", "lrn_within"} <= set(names)


# OpenCV's importer ignores `k` and does not apply Caffe's default alpha (golden layer_zoo, k = 2, shows
# OpenCV off by ~1.07 on values up to 1.6), so it serves as an oracle only with k = 1 and alpha given.
@pytest.mark.parametrize("params", ["local_size: 3 alpha: 0.3 beta: 0.5", "local_size: 7 alpha: 1 k: 1"])
def test_across_channels_matches_opencv(tmp_path, params: str) -> None:
    x = np.random.default_rng(4).standard_normal((2, 9, 4, 5)).astype(np.float32) * 3
    text = f'name: "n" type: "LRN" bottom: "x" top: "n" lrn_param {{ {params} }}'
    (expected,) = opencv_forward(tmp_path, text, {"x": x})
    (actual,) = run(make_layer(text), x)
    assert_close(actual, expected)


def test_across_channels_closed_form() -> None:
    # One channel, n = 3: only the channel itself is in range: y = x / (k + alpha/3 * x^2)^beta.
    x = np.array([2.0], np.float32).reshape(1, 1, 1, 1)
    (y,) = run(make_layer('type: "LRN" top: "y" lrn_param { local_size: 3 alpha: 3 beta: 0.5 k: 5 }'), x)
    np.testing.assert_allclose(y.ravel(), [2 / 3], rtol=1e-6)


def test_defaults() -> None:
    # local_size 5, alpha 1, beta 0.75, k 1; one channel: y = x / (1 + x^2 / 5)^0.75.
    x = np.array([2.0], np.float32).reshape(1, 1, 1, 1)
    (y,) = run(make_layer('type: "LRN" top: "y"'), x)
    np.testing.assert_allclose(y.ravel(), [2 / 1.8**0.75], rtol=1e-6)


def test_within_channel_ignores_k_and_divides_alpha_by_n_squared() -> None:
    # 1x1 image, n = 3: window holds x^2 and eight zero-pad cells: y = x / (1 + alpha/9 * x^2)^beta.
    x = np.array([3.0], np.float32).reshape(1, 1, 1, 1)
    layer = make_layer('type: "LRN" top: "y" lrn_param { local_size: 3 alpha: 8 beta: 0.5 k: 100 '
                       'norm_region: WITHIN_CHANNEL }')
    (y,) = run(layer, x)
    np.testing.assert_allclose(y.ravel(), [1.0], rtol=1e-6)


@pytest.mark.parametrize(("params", "bottoms"), [("local_size: 4", [(1, 4, 3, 3)]), ("", [(1, 4, 3)])])
def test_rejects_impossible_configurations(params: str, bottoms: list) -> None:
    with pytest.raises(ModelError, match="norm"):
        LAYER_TYPES["LRN"].output_shapes(make_layer(f'name: "norm" type: "LRN" top: "y" lrn_param {{ {params} }}'),
                                         bottoms)
