"""Caffe layers (BVLC's and the forks') no golden case exercises, end to end (prototxt -> lift ->
both emitters: ONNX Runtime and the PyTorch module), each against a closed form of Caffe's semantics written here (or
torch.nn.functional where that is the textbook definition). The emitters' handling of each IR op is
tested on its own in tests/emit_onnx and tests/emit_torch; this checks each layer's parameters reach
them intact (Caffe's pooling rounding, InnerProduct axis/transpose, Deconvolution weights, ...)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import caffemodel_blobs
from converter import pipeline
from converter.caffe.synthetic import write_synthetic_weights

SHAPE = (2, 3, 5, 6)
CASES = {
    # name: (layer body, function of (x, blobs) giving the expected output)
    "elu": ('type: "ELU" elu_param { alpha: 0.7 }', lambda x, b: np.where(x > 0, x, 0.7 * (np.exp(x) - 1))),
    "absval": ('type: "AbsVal"', lambda x, b: np.abs(x)),
    "power": ('type: "Power" power_param { power: 2 scale: 0.5 shift: 3 }', lambda x, b: (3 + 0.5 * x) ** 2),
    "exp": ('type: "Exp" exp_param { base: 2 scale: 0.5 shift: 0.25 }', lambda x, b: 2 ** (0.25 + 0.5 * x)),
    "log": ('type: "Log" log_param { base: 10 scale: 2 shift: 5 }', lambda x, b: np.log10(5 + 2 * x)),
    "flatten": ('type: "Flatten" flatten_param { axis: 2 }', lambda x, b: x.reshape(2, 3, 30)),
    "reshape": ('type: "Reshape" reshape_param { shape { dim: 0 dim: -1 dim: 2 } }', lambda x, b: x.reshape(2, 45, 2)),
    "bias": ('type: "Bias" bias_param { axis: 1 num_axes: 1 }', lambda x, b: x + b[0].reshape(1, 3, 1, 1)),
    "inner_product_axis2": ('type: "InnerProduct" inner_product_param { num_output: 4 axis: 2 }',
                            lambda x, b: x.reshape(2, 3, 30) @ b[0].T + b[1]),
    "inner_product_transpose": ('type: "InnerProduct" inner_product_param { num_output: 4 transpose: true }',
                                lambda x, b: x.reshape(2, 90) @ b[0] + b[1]),
    "deconvolution": ('type: "Deconvolution" convolution_param { num_output: 4 kernel_size: 3 stride: 2 pad: 1 }',
                      lambda x, b: torch.nn.functional.conv_transpose2d(
                          torch.from_numpy(x), torch.from_numpy(b[0]), torch.from_numpy(b[1]), stride=2,
                          padding=1).numpy()),
    "argmax_axis": ('type: "ArgMax" argmax_param { top_k: 2 axis: 1 }',
                    lambda x, b: np.argsort(-x, axis=1, kind="stable")[:, :2].astype(np.float64)),
    "relu6": ('type: "ReLU6"', lambda x, b: np.clip(x, 0, 6)),
    "yolo_upsample": ('type: "Upsample" upsample_param { scale: 2 }',
                      lambda x, b: np.repeat(np.repeat(x, 2, axis=2), 2, axis=3)),
    "interp_zoom": ('type: "Interp" interp_param { zoom_factor: 2 }',
                    lambda x, b: torch.nn.functional.interpolate(torch.from_numpy(x.astype(np.float32)), size=(9, 11),
                                                                 mode="bilinear", align_corners=True).numpy()),
    "convolution_depthwise": ('type: "ConvolutionDepthwise" convolution_param { num_output: 3 kernel_size: 3 pad: 1 }',
                              lambda x, b: torch.nn.functional.conv2d(
                                  torch.from_numpy(x.astype(np.float32)), torch.from_numpy(b[0]),
                                  torch.from_numpy(b[1]), padding=1, groups=3).numpy()),
    "max_pool_floor": ('type: "Pooling" pooling_param { pool: MAX kernel_size: 3 stride: 2 ceil_mode: false }',
                       lambda x, b: torch.nn.functional.max_pool2d(torch.from_numpy(x), 3, 2).numpy()),
    "max_pool_overflow": ('type: "Pooling" pooling_param { pool: MAX kernel_size: 3 stride: 2 }',
                          lambda x, b: _pool_loop(x, "max", 3, 2, 0)),
    "ave_pool_pad": ('type: "Pooling" pooling_param { pool: AVE kernel_size: 3 stride: 2 pad: 1 }',
                     lambda x, b: _pool_loop(x, "avg", 3, 2, 1)),
}


def _pool_loop(x: np.ndarray, kind: str, k: int, s: int, p: int) -> np.ndarray:
    """Caffe pooling written out: rounded-up output, clipped; AVE divides by the window within [-p, in+p)."""
    def out_size(n: int) -> int:
        o = -(-(n + 2 * p - k) // s) + 1
        return o - 1 if p and (o - 1) * s >= n + p else o

    h, w = x.shape[2:]
    y = np.zeros((*x.shape[:2], out_size(h), out_size(w)), np.float32)
    for i in range(y.shape[2]):
        for j in range(y.shape[3]):
            h0, w0 = i * s - p, j * s - p
            h1, w1 = min(h0 + k, h + p), min(w0 + k, w + p)
            window = x[:, :, max(h0, 0):min(h1, h), max(w0, 0):min(w1, w)]
            divisor = (h1 - h0) * (w1 - w0)
            y[:, :, i, j] = window.max(axis=(2, 3)) if kind == "max" else window.sum(axis=(2, 3)) / divisor
    return y


def test_slice_splits_along_axis(tmp_path):
    body = 'type: "Slice" slice_param { axis: 3 slice_point: 2 slice_point: 5 }'
    outputs, _ = _run(tmp_path, body, tops=["a", "b", "c"])
    x = _input()
    for got, want in zip(outputs, np.split(x, [2, 5], axis=3), strict=True):
        for value in got:
            np.testing.assert_allclose(value, want, rtol=1e-6, atol=1e-6)


def _input() -> np.ndarray:
    return np.random.default_rng(3).uniform(-1, 1, SHAPE).astype(np.float32)


def _run(tmp_path, body: str, tops: list[str]) -> tuple[list[list[np.ndarray]], list[np.ndarray]]:
    """([onnx, torch] outputs per top, the layer's weights) for a net: input -> the layer."""
    import onnxruntime as ort

    from converter.emit.torch import load_module

    top_lines = " ".join(f'top: "{t}"' for t in tops)
    prototxt = tmp_path / "net.prototxt"
    prototxt.write_text('input: "data"\ninput_shape { ' + " ".join(f"dim: {d}" for d in SHAPE) + " }\n"
                        f'layer {{ name: "op" {body} bottom: "data" {top_lines} }}\n')
    weights = tmp_path / "net.caffemodel"
    write_synthetic_weights(prototxt, weights, seed=1)
    conversion = pipeline.convert(prototxt, weights)
    pipeline.emit(conversion)
    x = _input()
    session = ort.InferenceSession(conversion.onnx_model.SerializeToString(), providers=["CPUExecutionProvider"])
    onnx_out = session.run(None, {"data": x})
    with torch.no_grad():
        torch_out = load_module(conversion.torch_export)(torch.from_numpy(x))
    torch_out = torch_out if isinstance(torch_out, tuple) else (torch_out,)
    outputs = [[o, t.numpy()] for o, t in zip(onnx_out, torch_out, strict=True)]
    return outputs, caffemodel_blobs(weights).get("op", [])


@pytest.mark.parametrize("name", sorted(CASES))
def test_op_matches_closed_form(tmp_path, name):
    body, expected_of = CASES[name]
    ((onnx_out, torch_out),), blobs = _run(tmp_path, body, tops=["out"])
    x = _input() if name == "deconvolution" else _input().astype(np.float64)  # torch wants float32 there
    expected = np.asarray(expected_of(x, blobs))
    for backend, value in (("onnx", onnx_out), ("torch", torch_out)):
        assert value.shape == expected.shape, (backend, value.shape, expected.shape)
        np.testing.assert_allclose(value, expected, rtol=1e-5, atol=1e-5, err_msg=backend)
