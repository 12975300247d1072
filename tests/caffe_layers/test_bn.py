"""The SegNet/ENet fork's BN layer against loops written here from alexgkendall/caffe-segnet's
bn_layer.cpp (OpenCV's importer has no BN layer): INFERENCE is x * scale + shift per channel,
LEARN normalises by the batch's E[x] and E[x^2] - E[x]^2 with eps 1e-9 before scale and shift."""

from __future__ import annotations

import numpy as np
import pytest

from caffe_layers.helpers import assert_close, make_layer, run
from converter.caffe.layers import LAYER_TYPES
from converter.errors import ModelError
from converter.ir import Scale
from converter.lift.registry import CONVERTERS

BN = LAYER_TYPES["BN"]


def _layer(params: str, shape: tuple[int, ...], seed: int = 1):
    layer = make_layer(f'name: "bn" type: "BN" bottom: "x" top: "y" bn_param {{ {params} }}', [shape])
    rng = np.random.default_rng(seed)
    layer.blobs = [rng.uniform(0.5, 2, s).astype(np.float32) for s in BN.blob_shapes(layer, [shape])]
    return layer


def _segnet_inference_loop(x: np.ndarray, scale: np.ndarray, shift: np.ndarray) -> np.ndarray:
    y = np.empty_like(x)
    for n, c, *rest in np.ndindex(x.shape):
        y[(n, c, *rest)] = x[(n, c, *rest)] * scale[0, c, 0, 0] + shift[0, c, 0, 0]
    return y


@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (2, 3, 4), (3, 6)])
def test_inference_mode_is_scale_and_shift(shape: tuple[int, ...]) -> None:
    layer = _layer("bn_mode: INFERENCE", shape)
    assert BN.blob_shapes(layer, [shape]) == [(1, shape[1], 1, 1)] * 2
    x = np.random.default_rng(2).standard_normal(shape).astype(np.float32)
    (y,) = run(layer, x)
    assert_close(y, _segnet_inference_loop(x, *layer.blobs))


def test_learn_mode_uses_the_batch_statistics() -> None:
    # bn_mode's default is LEARN: the batch's own statistics even in a deploy net.
    shape = (2, 3, 4, 5)
    layer = _layer("", shape)
    rng = np.random.default_rng(3)
    x = (rng.standard_normal(shape) * 3 + 1).astype(np.float32)
    (y,) = run(layer, x)
    scale, shift = layer.blobs
    expected = np.empty_like(x)
    n, c, h, w = shape
    for ch in range(c):
        total = total_sq = 0.0
        for i in range(n):
            for r in range(h):
                for q in range(w):
                    total += x[i, ch, r, q]
                    total_sq += x[i, ch, r, q] ** 2
        mean = total / (n * h * w)
        var = total_sq / (n * h * w) - mean * mean
        for i in range(n):
            for r in range(h):
                for q in range(w):
                    normalised = (x[i, ch, r, q] - mean) / np.sqrt(var + 1e-9)
                    expected[i, ch, r, q] = normalised * scale[0, ch, 0, 0] + shift[0, ch, 0, 0]
    assert_close(y, expected)


def test_lift_gives_a_scale_with_the_blobs() -> None:
    layer = _layer("bn_mode: INFERENCE", (1, 3, 2, 2))
    node = CONVERTERS["BN"](layer)
    assert isinstance(node, Scale) and node.axis == 1
    np.testing.assert_array_equal(node.gamma, layer.blobs[0].reshape(3))
    np.testing.assert_array_equal(node.beta, layer.blobs[1].reshape(3))


def test_lift_refuses_learn_mode_naming_the_layer() -> None:
    with pytest.raises(ModelError, match="layer 'bn'.*LEARN"):
        CONVERTERS["BN"](_layer("bn_mode: LEARN", (1, 3, 2, 2)))


def test_only_the_first_top() -> None:
    layer = make_layer('name: "bn" type: "BN" bottom: "x" top: "y" top: "mean" bn_param { bn_mode: LEARN }')
    with pytest.raises(ModelError, match="only the first top"):
        BN.output_shapes(layer, [(1, 3, 2, 2)])


def test_five_axes_refused() -> None:
    layer = make_layer('name: "bn" type: "BN" bottom: "x" top: "y" bn_param { bn_mode: INFERENCE }')
    with pytest.raises(ModelError, match="layer 'bn'"):
        BN.output_shapes(layer, [(1, 3, 2, 2, 2)])


def test_pspnet_four_blobs_use_the_stored_statistics() -> None:
    # hszhao/PSPNet bn_layer.cpp, TEST phase (or frozen): (x - mean) * (var + eps)^-0.5 * slope + bias.
    shape = (2, 3, 4, 5)
    layer = _layer("slope_filler { type: 'constant' value: 1 } frozen: true eps: 0.001", shape)
    assert BN.blob_shapes(layer, [shape]) == [(1, 3, 1, 1)] * 4
    x = np.random.default_rng(4).standard_normal(shape).astype(np.float32)
    (y,) = run(layer, x)
    slope, bias, mean, var = layer.blobs
    expected = np.empty_like(x)
    for n, c, h, w in np.ndindex(shape):
        inv_std = np.float32(var[0, c, 0, 0] + np.float32(0.001)) ** np.float32(-0.5)
        expected[n, c, h, w] = (x[n, c, h, w] - mean[0, c, 0, 0]) * inv_std * slope[0, c, 0, 0] + bias[0, c, 0, 0]
    assert_close(y, expected)
    node = CONVERTERS["BN"](layer)
    assert isinstance(node, Scale)
    assert_close(x * node.gamma.reshape(1, 3, 1, 1) + node.beta.reshape(1, 3, 1, 1), expected)
