"""Caffe's edge cases through the whole conversion: tiny nets written here, converted, and the ONNX
model, the PyTorch module (and the reference executor) compared with values worked out by hand from
Caffe's source."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pytest

from converter import pipeline
from converter.caffe.caffemodel import write_caffemodel
from converter.caffe.prototxt import parse_prototxt
from converter.errors import ModelError

FLT_MAX = float(np.finfo(np.float32).max)


def convert(folder: Path, body: str, shape: Sequence[int],
            blobs: Mapping[str, Sequence[np.ndarray]] | None = None) -> pipeline.Conversion:
    """A net of an Input `data` of `shape` and the layers in `body`, with `blobs` by layer name."""
    dims = " ".join(f"dim: {d}" for d in shape)
    prototxt = folder / "net.prototxt"
    prototxt.write_text(f'name: "edge"\nlayer {{ name: "data" type: "Input" top: "data" '
                        f"input_param {{ shape {{ {dims} }} }} }}\n{body}\n")
    weights = None
    if blobs is not None:
        weights = folder / "net.caffemodel"
        write_caffemodel(weights, parse_prototxt(prototxt), blobs)
    return pipeline.convert(prototxt, weights)


def run_backends(conversion: pipeline.Conversion, x: np.ndarray) -> list[tuple[str, dict[str, np.ndarray]]]:
    """Every net output from ONNX Runtime and from the generated PyTorch module, as (backend,
    outputs by top), after checking the reference executor agrees with both."""
    import onnxruntime as ort
    import torch

    from converter.emit.torch import load_module

    report = pipeline.run_verification(conversion, backends=("onnxruntime", "pytorch"), inputs={"data": x})
    assert report.passed, report.first_failure
    pipeline.emit(conversion)
    session = ort.InferenceSession(conversion.onnx_model.SerializeToString(), providers=["CPUExecutionProvider"])
    outputs = conversion.graph.outputs
    with torch.no_grad():
        module_outputs = load_module(conversion.torch_export)(torch.from_numpy(x))
    module_outputs = module_outputs if isinstance(module_outputs, tuple) else (module_outputs,)
    return [("onnx", dict(zip(outputs, session.run(outputs, {"data": x}), strict=True))),
            ("pytorch", {top: y.numpy() for top, y in zip(outputs, module_outputs, strict=True)})]


# ------------------------------------------------------------------------------------------ Pooling


@pytest.mark.parametrize("method", ["MAX", "AVE"])
def test_pooling_kernel_larger_than_the_input(tmp_path: Path, method: str) -> None:
    # ceil((2 - 3) / 2) + 1 = 1 window, clipped to the 2x2 image; AVE divides by 2 * 2.
    conversion = convert(tmp_path, f'layer {{ name: "pool" type: "Pooling" bottom: "data" top: "pool" '
                                   f"pooling_param {{ pool: {method} kernel_size: 3 stride: 2 }} }}", (1, 2, 2, 2))
    x = np.arange(8, dtype=np.float32).reshape(1, 2, 2, 2)
    expected = [3, 7] if method == "MAX" else [6 / 4, 22 / 4]
    for backend, outputs in run_backends(conversion, x):
        np.testing.assert_allclose(outputs["pool"].reshape(-1), expected, rtol=1e-6, err_msg=backend)


def test_max_pooling_window_past_the_input_gives_minus_flt_max(tmp_path: Path) -> None:
    # kernel 1 stride 2 on 4 rows: ceil(3 / 2) + 1 = 3 windows, the last starting at row 4, past the
    # image; Caffe's maximum stays at its initial -FLT_MAX there.
    conversion = convert(tmp_path, 'layer { name: "pool" type: "Pooling" bottom: "data" top: "pool" '
                                   "pooling_param { pool: MAX kernel_size: 1 stride: 2 } }", (1, 1, 4, 4))
    x = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
    expected = np.full((3, 3), -FLT_MAX, np.float32)
    expected[:2, :2] = [[0, 2], [8, 10]]
    for backend, outputs in run_backends(conversion, x):
        np.testing.assert_array_equal(outputs["pool"][0, 0], expected, err_msg=backend)


def test_average_pooling_window_past_the_input_is_refused(tmp_path: Path) -> None:
    # The same geometry for AVE: Caffe divides an empty sum by min(4 + 1, 4) - 4 = 0, giving NaN.
    with pytest.raises(ModelError, match="AVE window .* past the input"):
        convert(tmp_path, 'layer { name: "pool" type: "Pooling" bottom: "data" top: "pool" '
                          "pooling_param { pool: AVE kernel_size: 1 stride: 2 } }", (1, 1, 4, 4))



# ---------------------------------------------------------------------------------- Eltwise, Log


MASKS = ('layer { name: "pool" type: "Pooling" bottom: "data" top: "pool" top: "pool_mask" '
         "pooling_param { pool: MAX kernel_size: 3 stride: 2 } } "
         'layer { name: "past" type: "Pooling" bottom: "data" top: "past" top: "past_mask" '
         "pooling_param { pool: MAX kernel_size: 1 stride: 4 } } "
         'layer { name: "global" type: "Pooling" bottom: "pool" top: "global" top: "global_mask" '
         "pooling_param { pool: MAX global_pooling: true } }")


def caffe_max_pool(x: np.ndarray, kernel: tuple[int, int], stride: int) -> tuple[np.ndarray, np.ndarray]:
    """pooling_layer.cpp's MAX with a mask top, no pad: ceil((in - kernel) / stride) + 1 windows,
    each clipped to the plane; starting from -FLT_MAX and -1, a strictly greater value (h outer,
    w inner) replaces the top and sets the mask to h * W + w."""
    n, c, h, w = x.shape
    oh, ow = -(-(h - kernel[0]) // stride) + 1, -(-(w - kernel[1]) // stride) + 1
    top, mask = np.full((n, c, oh, ow), -FLT_MAX, np.float32), np.full((n, c, oh, ow), -1, np.float32)
    for index in np.ndindex(n, c, oh, ow):
        _, _, i, j = index
        for row in range(i * stride, min(i * stride + kernel[0], h)):
            for col in range(j * stride, min(j * stride + kernel[1], w)):
                if x[index[0], index[1], row, col] > top[index]:
                    top[index], mask[index] = x[index[0], index[1], row, col], row * w + col
    return top, mask


def test_max_pooling_argmax_masks(tmp_path: Path) -> None:
    conversion = convert(tmp_path, MASKS, (2, 3, 9, 10))
    assert set(conversion.graph.outputs) == {"pool_mask", "past", "past_mask", "global", "global_mask"}
    x = np.random.default_rng(3).integers(-3, 4, (2, 3, 9, 10)).astype(np.float32)  # tied maxima
    pool, pool_mask = caffe_max_pool(x, (3, 3), 2)
    past, past_mask = caffe_max_pool(x, (1, 1), 4)  # 10 columns: the last window starts at 12, past the plane
    top, global_mask = caffe_max_pool(pool, pool.shape[2:], 1)
    assert (past_mask == -1).any() and (past == -FLT_MAX).any()
    for backend, outputs in run_backends(conversion, x):
        for name, expected in [("pool_mask", pool_mask), ("past", past), ("past_mask", past_mask), ("global", top),
                               ("global_mask", global_mask)]:
            np.testing.assert_array_equal(outputs[name], expected, err_msg=f"{backend} {name}")


def test_max_pooling_argmax_mask_through_the_command_line(tmp_path: Path) -> None:
    import onnxruntime as ort
    from click.testing import CliRunner

    from cli import main

    prototxt = tmp_path / "masks.prototxt"
    prototxt.write_text('input: "data" input_shape { dim: 1 dim: 3 dim: 9 dim: 10 }\n' + MASKS)
    done = CliRunner().invoke(main, [str(prototxt), "-o", str(tmp_path / "out")])
    assert done.exit_code == 0, done.output
    report = json.loads((tmp_path / "out" / "masks.report.json").read_text())
    checked = {(row["blob"], row["backend"]) for row in report["comparisons"] if row["ok"]}
    assert {("pool|pool_mask", "onnxruntime"), ("pool|pool_mask", "pytorch")} <= checked
    session = ort.InferenceSession(str(tmp_path / "out" / "masks.onnx"), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(4).integers(-3, 4, (1, 3, 9, 10)).astype(np.float32)
    (mask,) = session.run(["pool_mask"], {"data": x})
    np.testing.assert_array_equal(mask, caffe_max_pool(x, (3, 3), 2)[1])


def test_eltwise_max_ignores_its_coefficients(tmp_path: Path) -> None:
    # max(x, -x) = |x| whatever the coefficients: Caffe only refuses them for PROD.
    conversion = convert(tmp_path, 'layer { name: "neg" type: "Power" bottom: "data" top: "neg" '
                                   "power_param { scale: -1 } } "
                                   'layer { name: "max" type: "Eltwise" bottom: "data" bottom: "neg" top: "max" '
                                   "eltwise_param { operation: MAX coeff: 3 coeff: 5 } }", (2, 3))
    x = np.array([[1, -2, 3], [-4, 5, -6]], np.float32)
    for backend, outputs in run_backends(conversion, x):
        np.testing.assert_array_equal(outputs["max"], np.abs(x), err_msg=backend)


def test_log_base_one_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="layer 'log'.*base 1"):
        convert(tmp_path, 'layer { name: "log" type: "Log" bottom: "data" top: "log" log_param { base: 1 } }', (2, 3))


# ---------------------------------------------------------------------------------------- Flatten


def test_flatten_with_end_axis_just_before_axis_inserts_an_axis(tmp_path: Path) -> None:
    # flatten_layer.cpp merges axes [axis, end_axis]: none when end_axis = axis - 1, so the count of
    # that empty range, 1, becomes a new axis at `axis`.
    conversion = convert(tmp_path, 'layer { name: "flat" type: "Flatten" bottom: "data" top: "flat" '
                                   "flatten_param { axis: 2 end_axis: 1 } }", (2, 3, 4))
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    for backend, outputs in run_backends(conversion, x):
        assert outputs["flat"].shape == (2, 3, 1, 4), backend
        np.testing.assert_array_equal(outputs["flat"][:, :, 0], x, err_msg=backend)


# ---------------------------------------------------------------------------------------- Reshape


@pytest.mark.parametrize(("dims", "expected"), [
    ("dim: 0 dim: -1", lambda x: x.reshape(x.shape[0], 60)),
    # The batch written out as a number: Caffe records (2, 60); the converted model follows the batch.
    ("dim: 2 dim: 60", lambda x: x.reshape(x.shape[0], 60)),
    # The batch merged into dim 0: (24, 5) at batch 2 is (12 per item, 5).
    ("dim: -1 dim: 5", lambda x: x.reshape(-1, 5)),
    ("dim: 6 dim: 20", lambda x: x.reshape(-1, 20)),
])
def test_reshape_follows_the_batch_size(tmp_path: Path, dims: str, expected: Callable) -> None:
    import onnxruntime as ort
    import torch

    from converter.emit.torch import load_module

    conversion = convert(tmp_path, 'layer { name: "r" type: "Reshape" bottom: "data" top: "r" '
                                   f"reshape_param {{ shape {{ {dims} }} }} }}", (2, 3, 4, 5))
    pipeline.emit(conversion)
    session = ort.InferenceSession(conversion.onnx_model.SerializeToString(), providers=["CPUExecutionProvider"])
    module = load_module(conversion.torch_export)
    for batch in (1, 3):
        x = np.arange(batch * 60, dtype=np.float32).reshape(batch, 3, 4, 5)
        (onnx_out,) = session.run(["r"], {"data": x})
        with torch.no_grad():
            torch_out = module(torch.from_numpy(x)).numpy()
        for backend, y in (("onnx", onnx_out), ("pytorch", torch_out)):
            np.testing.assert_array_equal(y, expected(x), err_msg=f"{backend}, batch {batch}")


def test_reshape_to_no_axes_is_refused_as_such(tmp_path: Path) -> None:
    # An empty shape makes a 0-axis blob in Caffe; --input-shape cannot help there.
    with pytest.raises(ModelError, match="layer 'r': top 'r' has no axes"):
        convert(tmp_path, 'layer { name: "r" type: "Reshape" bottom: "data" top: "r" reshape_param { shape { } } }',
                (1,))


# -------------------------------------------------------------------------------- Convolution


OVERHANG = ('layer { name: "conv" type: "Convolution" bottom: "data" top: "conv" '
            "convolution_param { num_output: 4 kernel_size: 3 stride: 2 } } "
            'layer { name: "bn" type: "BatchNorm" bottom: "conv" top: "conv" } '
            'layer { name: "scale" type: "Scale" bottom: "conv" top: "conv" scale_param { bias_term: true } }')


def overhang_blobs() -> dict[str, list[np.ndarray]]:
    rng = np.random.default_rng(7)
    return {"conv": [rng.uniform(-1, 1, (4, 3, 3, 3)).astype(np.float32), rng.uniform(-1, 1, 4).astype(np.float32)],
            "bn": [rng.uniform(-1, 1, 4).astype(np.float32), rng.uniform(0.5, 2, 4).astype(np.float32),
                   np.array([2], np.float32)],
            "scale": [rng.uniform(-1, 1, 4).astype(np.float32), rng.uniform(-1, 1, 4).astype(np.float32)]}


def overhang_expected(x: np.ndarray, blobs: dict[str, list[np.ndarray]]) -> np.ndarray:
    """Caffe on a 2x2 input, kernel 3, stride 2: (2 - 3) / 2 + 1 = 1 output (C++ division truncates),
    whose window holds the input in its top-left 2x2 taps and im2col's zeros in the others; then
    BatchNorm (stored statistics / factor) and Scale."""
    (weight, bias), (mean, var, factor), (gamma, beta) = blobs["conv"], blobs["bn"], blobs["scale"]
    conv = np.einsum("nchw,ochw->no", x.astype(np.float64), weight[:, :, :2, :2]) + bias
    normalised = (conv - mean / factor[0]) / np.sqrt(var / factor[0] + 1e-5)
    return (normalised * gamma + beta).reshape(-1, 4, 1, 1)


@pytest.mark.parametrize("fold", [False, True], ids=["plain", "folded"])
def test_kernel_overhanging_the_input_gives_caffes_one_output(tmp_path: Path, fold: bool) -> None:
    blobs = overhang_blobs()
    dims = "dim: 2 dim: 3 dim: 2 dim: 2"
    prototxt = tmp_path / "net.prototxt"
    prototxt.write_text(f'layer {{ name: "data" type: "Input" top: "data" input_param {{ shape {{ {dims} }} }} }}\n'
                        + OVERHANG)
    write_caffemodel(tmp_path / "w.caffemodel", parse_prototxt(prototxt), blobs)
    conversion = pipeline.convert(prototxt, tmp_path / "w.caffemodel", fold_batchnorm=fold)
    assert [type(n).__name__ for n in conversion.graph.nodes] == (["Conv"] if fold else ["Conv", "BatchNorm", "Scale"])
    x = np.random.default_rng(8).uniform(-1, 1, (2, 3, 2, 2)).astype(np.float32)
    for backend, outputs in run_backends(conversion, x):
        np.testing.assert_allclose(outputs["conv"], overhang_expected(x, blobs), rtol=1e-5, atol=1e-5,
                                   err_msg=backend)


def test_kernel_overhanging_the_input_through_the_command_line(tmp_path: Path) -> None:
    import onnxruntime as ort
    from click.testing import CliRunner

    from cli import main

    blobs = overhang_blobs()
    prototxt = tmp_path / "overhang.prototxt"
    prototxt.write_text('input: "data" input_shape { dim: 1 dim: 3 dim: 2 dim: 2 }\n' + OVERHANG)
    write_caffemodel(tmp_path / "overhang.caffemodel", parse_prototxt(prototxt), blobs)
    done = CliRunner().invoke(main, [str(prototxt), "--fold-batchnorm", "-o", str(tmp_path / "out")])
    assert done.exit_code == 0, done.output
    session = ort.InferenceSession(str(tmp_path / "out" / "overhang.onnx"), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(9).uniform(-1, 1, (1, 3, 2, 2)).astype(np.float32)
    (y,) = session.run(None, {"data": x})
    np.testing.assert_allclose(y, overhang_expected(x, blobs), rtol=1e-5, atol=1e-5)


MULTI_BOTTOM = ('layer { name: "double" type: "Power" bottom: "data" top: "double" power_param { scale: 2 } } '
                'layer { name: "conv" type: "{kind}" bottom: "data" bottom: "double" top: "once" top: "twice" '
                "convolution_param { num_output: 2 kernel_size: 1 } }")


@pytest.mark.parametrize("kind", ["Convolution", "Deconvolution"])
def test_several_bottoms_share_the_weights(tmp_path: Path, kind: str) -> None:
    # A 1x1 (de)convolution is a per-pixel matrix product: y[o] = sum_c W[o, c] x[c] + b[o] (Deconvolution
    # stores W as (in, out)); each bottom gets its own top from the same weights.
    weight = np.array([[1, 2, 3], [-1, 0, 0.5]], np.float32)
    bias = np.array([10, -10], np.float32)
    blob = weight.reshape(2, 3, 1, 1) if kind == "Convolution" else weight.T.reshape(3, 2, 1, 1)
    conversion = convert(tmp_path, MULTI_BOTTOM.replace("{kind}", kind), (2, 3, 2, 2), {"conv": [blob, bias]})
    x = np.random.default_rng(0).uniform(-1, 1, (2, 3, 2, 2)).astype(np.float32)
    for backend, outputs in run_backends(conversion, x):
        for top, factor in (("once", 1), ("twice", 2)):
            expected = np.einsum("oc,nchw->nohw", weight, factor * x) + bias.reshape(1, 2, 1, 1)
            np.testing.assert_allclose(outputs[top], expected, rtol=1e-5, atol=1e-5, err_msg=f"{backend} {top}")


def test_verification_compares_every_top_of_a_multi_top_layer(tmp_path: Path) -> None:
    # The shared convolution's and the slice's tops feed later layers (they are not net outputs):
    # each backend's value of each of them is still compared with the reference.
    body = MULTI_BOTTOM.replace("{kind}", "Convolution") + (
        ' layer { name: "split" type: "Slice" bottom: "twice" top: "left" top: "right" '
        "slice_param { axis: 1 slice_point: 1 } } "
        'layer { name: "max" type: "Eltwise" bottom: "left" bottom: "right" top: "max" '
        "eltwise_param { operation: MAX } } "
        'layer { name: "relu" type: "ReLU" bottom: "once" top: "relu" }')
    blobs = {"conv": [np.ones((2, 3, 1, 1), np.float32), np.zeros(2, np.float32)]}
    conversion = convert(tmp_path, body, (1, 3, 2, 2), blobs)
    x = np.random.default_rng(1).uniform(-1, 1, (1, 3, 2, 2)).astype(np.float32)
    report = pipeline.run_verification(conversion, backends=("onnxruntime", "pytorch"), inputs={"data": x})
    assert report.passed, report.first_failure
    compared = {(c.blob, c.backend) for c in report.comparisons}
    for blob in ("conv|once", "conv|twice", "split|left", "split|right", "max|max", "relu|relu"):
        assert {(blob, "onnxruntime"), (blob, "pytorch")} <= compared, blob


def test_batchnorm_folding_leaves_a_shared_convolution_alone(tmp_path: Path) -> None:
    body = MULTI_BOTTOM.replace("{kind}", "Convolution") + (
        ' layer { name: "bn" type: "BatchNorm" bottom: "once" top: "once" }')
    weight = np.ones((2, 3, 1, 1), np.float32)
    blobs = {"conv": [weight, np.zeros(2, np.float32)],
             "bn": [np.array([1, 2], np.float32), np.array([4, 9], np.float32), np.array([1], np.float32)]}
    dims = "dim: 1 dim: 3 dim: 1 dim: 1"
    prototxt = tmp_path / "net.prototxt"
    prototxt.write_text(f'layer {{ name: "data" type: "Input" top: "data" input_param {{ shape {{ {dims} }} }} }}\n'
                        + body)
    write_caffemodel(tmp_path / "w.caffemodel", parse_prototxt(prototxt), blobs)
    conversion = pipeline.convert(prototxt, tmp_path / "w.caffemodel", fold_batchnorm=True)
    x = np.array([1, 2, 3], np.float32).reshape(1, 3, 1, 1)
    # conv: 6 per channel for `once`, 12 for `twice`; BatchNorm on `once` only: (6 - mean) / sqrt(var + 1e-5).
    for backend, outputs in run_backends(conversion, x):
        np.testing.assert_allclose(outputs["once"].ravel(),
                                   [(6 - 1) / np.sqrt(4 + 1e-5), (6 - 2) / np.sqrt(9 + 1e-5)], rtol=1e-6,
                                   err_msg=backend)
        np.testing.assert_allclose(outputs["twice"].ravel(), [12, 12], rtol=1e-6, err_msg=backend)


# ------------------------------------------------------------------ Scalar blobs, blobless layers


def test_scalar_operands_through_make_weights(tmp_path: Path) -> None:
    # Shared PReLU slope and Scale/Bias with num_axes 0 hold 0-axis blobs: make-weights must write
    # them as such, and the reader take them back. y = ((x * s + b) + c), then PReLU with slope a.
    from converter.caffe.synthetic import write_synthetic_weights

    body = ('layer { name: "scale" type: "Scale" bottom: "data" top: "s" scale_param { num_axes: 0 bias_term: true } } '
            'layer { name: "bias" type: "Bias" bottom: "s" top: "b" bias_param { num_axes: 0 } } '
            'layer { name: "prelu" type: "PReLU" bottom: "b" top: "p" prelu_param { channel_shared: true } }')
    prototxt = tmp_path / "net.prototxt"
    prototxt.write_text('layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 2 dim: 3 } } }\n'
                        + body)
    write_synthetic_weights(prototxt, tmp_path / "w.caffemodel")
    conversion = pipeline.convert(prototxt, tmp_path / "w.caffemodel")
    blobs = {layer.name: layer.blobs for layer in conversion.net.layers}
    assert [b.shape for b in blobs["scale"] + blobs["bias"] + blobs["prelu"]] == [(), (), (), ()]
    (s, b), (c,), (a,) = blobs["scale"], blobs["bias"], blobs["prelu"]
    x = np.array([[-3, -1, 0], [1, 2, 5]], np.float32)
    z = x * s + b + c
    for backend, outputs in run_backends(conversion, x):
        np.testing.assert_allclose(outputs["p"], np.where(z > 0, z, a * z), rtol=1e-6, err_msg=backend)


def test_net_whose_only_parametric_layers_have_no_blobs(tmp_path: Path) -> None:
    # A two-bottom Bias takes its addend from bottom[1] and holds no blob: no caffemodel is needed,
    # and an empty one is not "the caffemodel of another net".
    body = ('layer { name: "half" type: "Power" bottom: "data" top: "half" power_param { scale: 0.5 } } '
            'layer { name: "add" type: "Bias" bottom: "data" bottom: "half" top: "sum" bias_param { axis: 0 } }')
    x = np.array([[2, -4, 6]], np.float32)
    for blobs in (None, {}):
        for backend, outputs in run_backends(convert(tmp_path, body, (1, 3), blobs), x):
            np.testing.assert_allclose(outputs["sum"], 1.5 * x, err_msg=backend)


# -------------------------------------------------------------------------------------- BatchNorm


@pytest.mark.parametrize("fold", [False, True], ids=["plain", "folded"])
def test_batchnorm_scale_factor_zero_zeroes_the_statistics(tmp_path: Path, fold: bool) -> None:
    # batch_norm_layer.cpp: scale_factor = blobs[2] == 0 ? 0 : 1 / blobs[2]; the stored mean and
    # variance are multiplied by it, so y = (conv - 0) / sqrt(0 + eps) whatever they hold.
    body = ('layer { name: "conv" type: "Convolution" bottom: "data" top: "conv" '
            "convolution_param { num_output: 2 kernel_size: 1 } } "
            'layer { name: "bn" type: "BatchNorm" bottom: "conv" top: "conv" batch_norm_param { eps: 0.25 } }')
    blobs = {"conv": [np.array([[1, 0], [1, 1]], np.float32).reshape(2, 2, 1, 1), np.array([0, 1], np.float32)],
             "bn": [np.array([5, 7], np.float32), np.array([9, 3], np.float32), np.zeros(1, np.float32)]}
    dims = "dim: 1 dim: 2 dim: 1 dim: 2"
    prototxt = tmp_path / "net.prototxt"
    prototxt.write_text(f'layer {{ name: "data" type: "Input" top: "data" input_param {{ shape {{ {dims} }} }} }}\n'
                        + body)
    write_caffemodel(tmp_path / "w.caffemodel", parse_prototxt(prototxt), blobs)
    conversion = pipeline.convert(prototxt, tmp_path / "w.caffemodel", fold_batchnorm=fold)
    x = np.array([[1, 2], [3, 4]], np.float32).reshape(1, 2, 1, 2)
    conv = np.array([[1, 2], [1 + 3 + 1, 2 + 4 + 1]], np.float32)
    for backend, outputs in run_backends(conversion, x):
        np.testing.assert_allclose(outputs["conv"].reshape(2, 2), conv / np.sqrt(0.25), rtol=1e-6, err_msg=backend)


BATCH_STATISTICS = ('layer { name: "conv" type: "Convolution" bottom: "data" top: "conv" '
                    "convolution_param { num_output: 3 kernel_size: 1 } } "
                    'layer { name: "bn" type: "BatchNorm" bottom: "conv" top: "conv" {settings} } '
                    'layer { name: "scale" type: "Scale" bottom: "conv" top: "conv" scale_param { bias_term: true } }')


def batch_statistics_blobs() -> dict[str, list[np.ndarray]]:
    rng = np.random.default_rng(11)
    # Stored statistics far from the batch's: using them by mistake is far outside the tolerance.
    return {"conv": [rng.uniform(-1, 1, (3, 2, 1, 1)).astype(np.float32), np.array([5, -3, 0], np.float32)],
            "bn": [np.full(3, 50, np.float32), np.full(3, 0.01, np.float32), np.ones(1, np.float32)],
            "scale": [np.array([2, -1, 0.5], np.float32), np.array([0, 1, -2], np.float32)]}


def batch_statistics_expected(x: np.ndarray, blobs: dict[str, list[np.ndarray]]) -> np.ndarray:
    """batch_norm_layer.cpp with use_global_stats false: per channel, the mean over N, H, W, the
    variance as the mean of squared deviations (biased), eps 1e-5; the stored blobs unread."""
    (weight, bias), (gamma, beta) = blobs["conv"], blobs["scale"]
    conv = np.einsum("oc,nchw->nohw", weight[:, :, 0, 0].astype(np.float64), x) + bias.reshape(1, 3, 1, 1)
    mean = conv.mean(axis=(0, 2, 3), keepdims=True)
    var = ((conv - mean) ** 2).mean(axis=(0, 2, 3), keepdims=True)
    return (conv - mean) / np.sqrt(var + 1e-5) * gamma.reshape(1, 3, 1, 1) + beta.reshape(1, 3, 1, 1)


@pytest.mark.parametrize("fold", [False, True], ids=["plain", "folded"])
@pytest.mark.parametrize("settings", ["batch_norm_param { use_global_stats: false }", "phase: TRAIN"])
def test_batchnorm_with_batch_statistics(tmp_path: Path, fold: bool, settings: str) -> None:
    body = BATCH_STATISTICS.replace("{settings}", settings)
    dims = "dim: 4 dim: 2 dim: 3 dim: 5"
    prototxt = tmp_path / "net.prototxt"
    prototxt.write_text(f'layer {{ name: "data" type: "Input" top: "data" input_param {{ shape {{ {dims} }} }} }}\n'
                        + body)
    blobs = batch_statistics_blobs()
    write_caffemodel(tmp_path / "w.caffemodel", parse_prototxt(prototxt), blobs)
    conversion = pipeline.convert(prototxt, tmp_path / "w.caffemodel", fold_batchnorm=fold)
    # Never folded: the normalisation depends on the batch (and the Scale does not reach the Conv).
    assert [type(n).__name__ for n in conversion.graph.nodes] == ["Conv", "BatchNorm", "Scale"]
    x = np.random.default_rng(12).uniform(-2, 3, (4, 2, 3, 5)).astype(np.float32)
    for backend, outputs in run_backends(conversion, x):
        np.testing.assert_allclose(outputs["conv"], batch_statistics_expected(x, blobs), rtol=1e-4, atol=1e-4,
                                   err_msg=backend)


def test_batchnorm_with_batch_statistics_through_the_command_line(tmp_path: Path) -> None:
    import onnxruntime as ort
    from click.testing import CliRunner

    from cli import main

    prototxt = tmp_path / "batch.prototxt"
    prototxt.write_text('input: "data" input_shape { dim: 4 dim: 2 dim: 3 dim: 5 }\n'
                        + BATCH_STATISTICS.replace("{settings}", "batch_norm_param { use_global_stats: false }"))
    blobs = batch_statistics_blobs()
    write_caffemodel(tmp_path / "batch.caffemodel", parse_prototxt(prototxt), blobs)
    done = CliRunner().invoke(main, [str(prototxt), "--fold-batchnorm", "-o", str(tmp_path / "out")])
    assert done.exit_code == 0, done.output
    session = ort.InferenceSession(str(tmp_path / "out" / "batch.onnx"), providers=["CPUExecutionProvider"])
    for batch in (4, 7):  # the ONNX model takes any batch; the statistics are that batch's
        x = np.random.default_rng(batch).uniform(-2, 3, (batch, 2, 3, 5)).astype(np.float32)
        (y,) = session.run(None, {"data": x})
        np.testing.assert_allclose(y, batch_statistics_expected(x, blobs), rtol=1e-4, atol=1e-4)
