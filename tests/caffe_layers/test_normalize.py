"""Normalize (SSD fork): against OpenCV's Normalize (NormalizeBBox) and a loop written here from
normalize_layer.cpp (eps added to the sum of squares before the square root); its scale blob is
one value (0-axis) when channel_shared, else one per channel."""

from __future__ import annotations

import numpy as np
import pytest

from caffe_layers.helpers import assert_close, make_layer, opencv_forward, run
from converter.caffe.layers import LAYER_TYPES
from converter.errors import ModelError

NORMALIZE = LAYER_TYPES["Normalize"]
CASES = {  # params, scale blob
    "per_position_per_channel": ("across_spatial: false channel_shared: false", np.linspace(1, 4, 4)),
    "across_shared": ("across_spatial: true channel_shared: true", np.array(20.0)),
    "per_position_shared_eps": ("across_spatial: false channel_shared: true eps: 0.01", np.array(3.0)),
    "defaults": ("", np.array(2.0)),
}


def fork_loop(x: np.ndarray, scale: np.ndarray, across: bool, eps: float) -> np.ndarray:
    y = np.zeros(x.shape)
    for n in range(x.shape[0]):
        if across:
            y[n] = x[n] / np.sqrt((x[n].astype(np.float64) ** 2).sum() + eps)
        else:
            for h in range(x.shape[2]):
                for w in range(x.shape[3]):
                    column = x[n, :, h, w].astype(np.float64)
                    y[n, :, h, w] = column / np.sqrt((column**2).sum() + eps)
        y[n] *= scale.reshape(-1, 1, 1) if scale.ndim else scale
    return y.astype(np.float32)


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_matches_opencv_and_the_fork_loop(tmp_path, case: tuple) -> None:
    params, scale = case
    scale = scale.astype(np.float32)
    x = np.random.default_rng(11).standard_normal((2, 4, 3, 5)).astype(np.float32)
    text = f'name: "norm" type: "Normalize" bottom: "x" top: "y" norm_param {{ {params} }}'
    layer = make_layer(text, bottoms=[x.shape], blobs=[scale])
    assert NORMALIZE.blob_shapes(layer, [x.shape]) == [scale.shape]
    (actual,) = run(layer, x)
    (expected,) = opencv_forward(tmp_path, text, {"x": x}, blobs=[scale.reshape(-1)])
    assert_close(actual, expected)
    p = layer.param.norm_param
    assert_close(actual, fork_loop(x, scale, p.across_spatial, p.eps))


def test_refuses_a_one_axis_bottom() -> None:
    layer = make_layer('name: "norm" type: "Normalize" bottom: "x" top: "y"')
    with pytest.raises(ModelError, match="norm.*2 to 4 axes"):
        NORMALIZE.output_shapes(layer, [(6,)])
