"""The SegNet/ENet fork's BN layer against loops written here from alexgkendall/caffe-segnet's
bn_layer.cpp (OpenCV's importer has no BN layer): INFERENCE is x * scale + shift per channel,
LEARN normalises by the batch's E[x] and E[x^2] - E[x]^2 with eps 1e-9 before scale and shift, in
the reference executor and in both exports."""

from __future__ import annotations

import numpy as np
import pytest

from caffe_layers.helpers import assert_close, make_layer, run
from conftest import caffemodel_blobs, with_demo_weights
from converter.caffe.layers import LAYER_TYPES
from converter.errors import ModelError
from converter.ir import BatchMomentNorm, Scale
from converter.lift.registry import CONVERTERS
from emit_common import conv_loop

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


def _segnet_learn_loop(x: np.ndarray, scale: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """bn_layer.cpp Forward_cpu, LEARN: E[x] and E[x^2] per (n, c) over H x W, then averaged over N;
    var = E[x^2] - E[x]^2; (x - E[x]) / (var + 1e-9)^0.5, times scale, plus shift."""
    n, c, h, w = x.shape
    expected = np.empty_like(x)
    for ch in range(c):
        spatial_mean = [sum(float(x[i, ch, r, q]) for r in range(h) for q in range(w)) / (h * w) for i in range(n)]
        spatial_sq = [sum(float(x[i, ch, r, q]) ** 2 for r in range(h) for q in range(w)) / (h * w) for i in range(n)]
        mean, mean_sq = sum(spatial_mean) / n, sum(spatial_sq) / n
        std = (mean_sq - mean * mean + 1e-9) ** 0.5
        for i in range(n):
            for r in range(h):
                for q in range(w):
                    expected[i, ch, r, q] = (x[i, ch, r, q] - mean) / std * scale[0, ch, 0, 0] + shift[0, ch, 0, 0]
    return expected


def test_learn_mode_uses_the_batch_statistics() -> None:
    # bn_mode's default is LEARN: the batch's own statistics even in a deploy net.
    shape = (2, 3, 4, 5)
    layer = _layer("", shape)
    rng = np.random.default_rng(3)
    x = (rng.standard_normal(shape) * 3 + 1).astype(np.float32)
    (y,) = run(layer, x)
    assert_close(y, _segnet_learn_loop(x, *layer.blobs))


def test_lift_gives_the_batch_moment_norm_with_the_blobs() -> None:
    layer = _layer("bn_mode: LEARN", (1, 3, 2, 2))
    node = CONVERTERS["BN"](layer)
    assert isinstance(node, BatchMomentNorm) and node.eps == pytest.approx(1e-9)
    np.testing.assert_array_equal(node.gamma, layer.blobs[0].reshape(3))
    np.testing.assert_array_equal(node.beta, layer.blobs[1].reshape(3))


def test_learn_mode_converts_and_both_exports_follow_the_fork(tmp_path) -> None:
    # A deploy net left in LEARN mode (bn_mode's default), in place after a convolution as SegNet
    # writes it: ONNX Runtime and the PyTorch module against the fork's loop, batch 2 so the
    # statistics span the batch.
    from converter import pipeline
    from converter.backends import onnx_backend, torch_backend

    prototxt, weights = with_demo_weights(
        tmp_path, "segnet_block", 'input: "data" input_shape { dim: 2 dim: 2 dim: 5 dim: 6 }\n'
        'layer { name: "conv" type: "Convolution" bottom: "data" top: "conv" '
        'convolution_param { num_output: 3 kernel_size: 3 pad: 1 } }\n'
        'layer { name: "bn" type: "BN" bottom: "conv" top: "conv" bn_param { scale_filler { value: 1 } } }\n')
    conversion = pipeline.convert(prototxt, weights)
    pipeline.emit(conversion)
    x = np.random.default_rng(5).uniform(2.0, 6.0, (2, 2, 5, 6)).astype(np.float32)
    # Both layers as loops, on the blobs as protobuf reads the caffemodel (not the converter's forward).
    blobs = caffemodel_blobs(weights)
    conv_top = conv_loop(x, *blobs["conv"], (1, 1), (1, 1), (0, 0), (1, 1), 1)
    expected = _segnet_learn_loop(conv_top, *blobs["bn"])
    output = conversion.graph.outputs[0]
    for backend in (onnx_backend(export=conversion.onnx_export), torch_backend(conversion.torch_export)):
        assert_close(np.asarray(backend(conversion.graph, {"data": x})[output]), expected)


def test_lift_gives_a_scale_with_the_blobs() -> None:
    layer = _layer("bn_mode: INFERENCE", (1, 3, 2, 2))
    node = CONVERTERS["BN"](layer)
    assert isinstance(node, Scale) and node.axis == 1
    np.testing.assert_array_equal(node.gamma, layer.blobs[0].reshape(3))
    np.testing.assert_array_equal(node.beta, layer.blobs[1].reshape(3))


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
