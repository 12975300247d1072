"""Issue 6, memory: a net whose every blob passes the reader's size limit can still need more memory
than the machine has to run. Such runs are refused up front; and the reference executor's own
scratch memory (im2col columns, padding) stays bounded by blocks instead of growing with the kernel."""

from __future__ import annotations

import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from cli import main
from conftest import ROOT, shared_path
from converter import memory
from converter.caffe.loader import build_net
from converter.caffe.prototxt import parse_prototxt_text
from converter.caffe.synthetic import write_synthetic_weights


def _net_files(tmp_path: Path, text: str) -> tuple[Path, Path]:
    proto = tmp_path / "net.prototxt"
    proto.write_text(text)
    weights = tmp_path / "net.caffemodel"
    # Only the memory checks run on these nets: calibrating their weights would cost a forward pass.
    write_synthetic_weights(proto, weights, calibrate=False)
    return proto, weights


BIG_RELU = ('input: "data"\ninput_shape { dim: 1 dim: 3 dim: 4000 dim: 4000 }\n'
            'layer { name: "a" type: "ReLU" bottom: "data" top: "a" }\n')


def test_verification_that_does_not_fit_is_refused_before_running(tmp_path, monkeypatch):
    proto, weights = _net_files(tmp_path, BIG_RELU)
    monkeypatch.setattr(memory, "available_bytes", lambda: 256 << 20)
    done = CliRunner().invoke(main, [str(proto), "-w", str(weights), "-o", str(tmp_path / "out")])
    assert done.exit_code == 2, done.output
    # The libraries' 287 MiB, and 2.8 times (the reference's and one backend's runs alive at once, and
    # their buffers) two blobs of 48M float32 values.
    assert "verification needs about 1.3 GiB of memory, 0.2 GiB is available" in done.output
    assert "--no-verify" in done.output
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


def test_classification_that_does_not_fit_is_refused(tmp_path, monkeypatch):
    proto, weights = _net_files(tmp_path, BIG_RELU)
    monkeypatch.setattr(memory, "available_bytes", lambda: 64 << 20)
    image = shared_path("reference_models", "images", "cat.jpg")
    done = CliRunner().invoke(main, ["classify", str(proto), str(image), "-w", str(weights)])
    assert done.exit_code == 2, done.output
    assert "classification needs about" in done.output


def test_im2col_columns_of_a_real_net_beyond_any_machine(tmp_path):
    # Every blob is within the limit (the input is 2 GB) but one image's im2col columns are 242 GB.
    proto, weights = _net_files(tmp_path, 'input: "data"\ninput_shape { dim: 1 dim: 512 dim: 1000 dim: 1000 }\n'
                                'layer { name: "c" type: "Convolution" bottom: "data" top: "c" '
                                "convolution_param { num_output: 1 kernel_size: 11 } }\n")
    done = subprocess.run([sys.executable, str(ROOT / "cli.py"), "verify", str(proto), "-w", str(weights)],
                          capture_output=True, text=True)
    assert done.returncode == 2, done.stderr
    assert "verification needs about" in done.stderr and "Traceback" not in done.stderr


def test_estimate_counts_blobs_weights_and_the_largest_scratch():
    net = build_net(parse_prototxt_text(
        'input: "data"\ninput_shape { dim: 2 dim: 8 dim: 20 dim: 20 }\n'
        'layer { name: "c" type: "Convolution" bottom: "data" top: "c" '
        "convolution_param { num_output: 4 kernel_size: 5 pad: 1 } }\n"))
    net.layers[0].blobs = [np.zeros((4, 8, 5, 5), np.float32), np.zeros(4, np.float32)]
    blobs = 2 * 8 * 20 * 20 + 2 * 4 * 18 * 18
    weights = 4 * 8 * 5 * 5 + 4
    scratch = 8 * 22 * 22 + 8 * 5 * 5 * 18 * 18  # one padded image, its im2col columns
    assert memory.elements(net) == (blobs, weights, scratch)
    expected = memory.RUNTIME_BYTES + 4 * blobs * 28 // 10 + 4 * (weights * 21 // 20 + scratch)
    assert memory.bytes_needed(net, copies=3) == expected


def test_scratch_of_a_kernel_overhanging_the_input():
    # 3 rows padded by 1 to 5 under a 7-row kernel at stride 3: (5 - 7) / 3 + 1 = 1 output, its
    # window reading 2 zeros past the padded input; the 9 columns give (11 - 7) / 3 + 1 = 2 outputs.
    net = build_net(parse_prototxt_text(
        'input: "data"\ninput_shape { dim: 1 dim: 2 dim: 3 dim: 9 }\n'
        'layer { name: "c" type: "Convolution" bottom: "data" top: "c" '
        "convolution_param { num_output: 1 kernel_size: 7 stride: 3 pad: 1 bias_term: false } }\n"))
    net.layers[0].blobs = [np.zeros((1, 2, 7, 7), np.float32)]
    blobs = 2 * 3 * 9 + 1 * 1 * 2
    scratch = 2 * (3 + 2 + 2) * (9 + 2) + 2 * 7 * 7 * 1 * 2
    assert memory.elements(net) == (blobs, 2 * 7 * 7, scratch)


def test_pooling_scratch_reads_the_pads_as_caffe_does():
    """pad_h with pad_w: each axis its own pad. pad_h alone is no pooling Caffe runs (it asks for
    both): the estimate refuses it as the loader does, naming the layer, instead of guessing."""
    from converter.caffe.layers import LAYER_TYPES
    from converter.errors import ModelError

    net = build_net(parse_prototxt_text(
        'input: "data"\ninput_shape { dim: 1 dim: 6 dim: 10 dim: 12 }\n'
        'layer { name: "p" type: "Pooling" bottom: "data" top: "p" '
        "pooling_param { pool: MAX kernel_size: 4 pad_h: 2 pad_w: 1 } }\n"))
    blobs = 6 * 10 * 12 + 6 * 11 * 11  # (10 + 4 - 4) + 1 rows, (12 + 2 - 4) + 1 columns
    assert memory.elements(net) == (blobs, 0, 6 * (10 + 2 * 2) * (12 + 2 * 1))
    layer = net.layers[0]
    layer.param.pooling_param.ClearField("pad_w")
    with pytest.raises(ModelError, match="layer 'p'.*pad_h and pad_w are required"):
        LAYER_TYPES["Pooling"].output_shapes(layer, layer.bottom_shapes)  # the loader's own check
    with pytest.raises(ModelError, match="layer 'p'.*pad_h and pad_w are required"):
        memory.bytes_needed(net, copies=1)


def _conv_loop(x, w, stride, pad, dilation, group):
    """Direct convolution, one output value at a time."""
    n, c, h, wd = x.shape
    m, cg, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh = (h + 2 * pad - dilation * (kh - 1) - 1) // stride + 1
    ow = (wd + 2 * pad - dilation * (kw - 1) - 1) // stride + 1
    out = np.zeros((n, m, oh, ow), np.float64)
    mg = m // group
    for o in range(m):
        first = (o // mg) * cg
        for i in range(oh):
            for j in range(ow):
                rows = slice(i * stride, i * stride + dilation * (kh - 1) + 1, dilation)
                cols = slice(j * stride, j * stride + dilation * (kw - 1) + 1, dilation)
                out[:, o, i, j] = np.einsum("ncij,cij->n", xp[:, first:first + cg, rows, cols], w[o])
    return out


@pytest.mark.parametrize(("group", "multiplier", "kernel", "stride", "pad", "dilation"), [
    (1, 3, 3, 1, 1, 1), (2, 2, 3, 2, 0, 2), (6, 1, 3, 1, 1, 1), (6, 3, 5, 2, 2, 1), (1, 2, 9, 1, 4, 1)])
def test_reference_convolution_in_column_blocks(monkeypatch, group, multiplier, kernel, stride, pad, dilation):
    from converter.caffe.layers import convolution

    monkeypatch.setattr(convolution, "COLUMN_BLOCK", 50)  # forces bands of one output row
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 6, 11, 9)).astype(np.float32)
    m = group * multiplier
    w = rng.standard_normal((m, 6 // group, kernel, kernel)).astype(np.float32)
    g = convolution.ConvGeometry(6, m, group, (kernel, kernel), (stride, stride), (pad, pad), (dilation, dilation),
                                 False)
    got = convolution.conv2d(x, w, None, g)
    np.testing.assert_allclose(got, _conv_loop(x, w, stride, pad, dilation, group), rtol=1e-5, atol=1e-5)


def _peak_bytes(function, *args):
    tracemalloc.start()
    try:
        function(*args)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_reference_convolution_columns_stay_within_their_block(monkeypatch):
    from converter.caffe.layers import convolution

    monkeypatch.setattr(convolution, "COLUMN_BLOCK", 1 << 20)
    x = np.ones((1, 32, 100, 100), np.float32)  # 1.3 MB; its 11x11 columns would take 125 MB
    w = np.ones((1, 32, 11, 11), np.float32)
    g = convolution.ConvGeometry(32, 1, 1, (11, 11), (1, 1), (0, 0), (1, 1), False)
    # A block of columns, and the copy matmul may make of it.
    assert _peak_bytes(convolution.conv2d, x, w, None, g) < 2 * 4 * (1 << 20) + (8 << 20)


def test_reference_depthwise_with_a_multiplier_does_not_copy_the_input_per_output():
    from converter.caffe.layers import convolution

    x = np.ones((1, 4, 600, 600), np.float32)  # 5.8 MB, repeated 32 times would be 184 MB
    w = np.ones((128, 1, 3, 3), np.float32)
    g = convolution.ConvGeometry(4, 128, 4, (3, 3), (8, 8), (1, 1), (1, 1), False)
    assert _peak_bytes(convolution.conv2d, x, w, None, g) < 40 << 20


def _lrn_layer(size: int, region: str, shape: str):
    net = build_net(parse_prototxt_text(
        f'input: "data"\ninput_shape {{ {shape} }}\n'
        f'layer {{ name: "n" type: "LRN" bottom: "data" top: "n" '
        f"lrn_param {{ local_size: {size} alpha: 0.5 beta: 0.75 k: 2 norm_region: {region} }} }}\n"))
    return net.layers[0]


def _lrn_loop(x, size, region):
    """Caffe's LRN by its definition, one output value at a time."""
    half = size // 2
    n, c, h, w = x.shape
    out = np.zeros_like(x, dtype=np.float64)
    for b in range(n):
        for ch in range(c):
            for i in range(h):
                for j in range(w):
                    if region == "ACROSS_CHANNELS":
                        total = np.sum(x[b, max(0, ch - half):ch + half + 1, i, j].astype(np.float64) ** 2)
                        scale = 2 + 0.5 / size * total
                    else:
                        window = x[b, ch, max(0, i - half):i + half + 1, max(0, j - half):j + half + 1]
                        scale = 1 + 0.5 / (size * size) * np.sum(window.astype(np.float64) ** 2)
                    out[b, ch, i, j] = x[b, ch, i, j] * scale ** -0.75
    return out


@pytest.mark.parametrize(("size", "region"), [(3, "ACROSS_CHANNELS"), (5, "WITHIN_CHANNEL"),
                                              (1001, "ACROSS_CHANNELS"), (41, "WITHIN_CHANNEL")])
def test_reference_lrn_whatever_the_window(size, region):
    from converter.caffe.layers import lrn

    layer = _lrn_layer(size, region, "dim: 2 dim: 5 dim: 4 dim: 6")
    x = np.random.default_rng(2).standard_normal((2, 5, 4, 6)).astype(np.float32)
    (got,) = lrn.forward(layer, [x])
    np.testing.assert_allclose(got, _lrn_loop(x, size, region), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("region", ["ACROSS_CHANNELS", "WITHIN_CHANNEL"])
def test_reference_lrn_memory_does_not_grow_with_local_size(region):
    from converter.caffe.layers import lrn

    layer = _lrn_layer(2_000_001, region, "dim: 1 dim: 2 dim: 4 dim: 4")
    x = np.ones((1, 2, 4, 4), np.float32)
    assert _peak_bytes(lrn.forward, layer, [x]) < 1 << 20


def test_converted_lrn_window_wider_than_the_channels(tmp_path):
    from converter import pipeline

    proto, weights = _net_files(tmp_path, 'input: "data"\ninput_shape { dim: 1 dim: 4 dim: 3 dim: 3 }\n'
                                'layer { name: "n" type: "LRN" bottom: "data" top: "n" '
                                "lrn_param { local_size: 400000001 alpha: 3 } }\n")
    conversion = pipeline.convert(proto, weights)
    report = pipeline.run_verification(conversion)  # both backends would allocate 100 GB of padding
    assert report.passed
    x = np.random.default_rng(0).uniform(-1, 1, (1, 4, 3, 3)).astype(np.float32)
    total = np.sum(x.astype(np.float64) ** 2, axis=1, keepdims=True)  # the window covers every channel
    expected = x * (1 + 3 / 400000001 * total) ** -0.75
    import torch

    from converter.emit.torch import emit_torch, load_module

    got = load_module(emit_torch(conversion.graph))(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def _pool_loop(x, kernel, stride, pad, method):
    n, c, h, w = x.shape
    oh = -(-(h + 2 * pad - kernel) // stride) + 1
    ow = -(-(w + 2 * pad - kernel) // stride) + 1
    if pad and (oh - 1) * stride >= h + pad:
        oh -= 1
    if pad and (ow - 1) * stride >= w + pad:
        ow -= 1
    out = np.zeros((n, c, oh, ow))
    for i in range(oh):
        for j in range(ow):
            top, left = i * stride - pad, j * stride - pad
            bottom, right = min(top + kernel, h + pad), min(left + kernel, w + pad)
            window = x[:, :, max(top, 0):min(bottom, h), max(left, 0):min(right, w)]
            if method == "MAX":
                out[:, :, i, j] = window.max(axis=(2, 3))
            else:
                out[:, :, i, j] = window.sum(axis=(2, 3)) / ((bottom - top) * (right - left))
    return out


@pytest.mark.parametrize("method", ["MAX", "AVE"])
@pytest.mark.parametrize(("kernel", "stride", "pad"), [(6, 1, 2), (7, 3, 0), (9, 9, 1)])
def test_reference_pooling_with_few_large_windows(method, kernel, stride, pad):
    from converter.caffe.layers import pooling

    net = build_net(parse_prototxt_text(
        'input: "data"\ninput_shape { dim: 2 dim: 3 dim: 9 dim: 10 }\n'
        f'layer {{ name: "p" type: "Pooling" bottom: "data" top: "p" pooling_param {{ pool: {method} '
        f"kernel_size: {kernel} stride: {stride} pad: {pad} }} }}\n"))
    x = np.random.default_rng(3).standard_normal((2, 3, 9, 10)).astype(np.float32)
    (got,) = pooling.forward(net.layers[0], [x])
    np.testing.assert_allclose(got, _pool_loop(x, kernel, stride, pad, method), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(("size", "kernel", "stride", "dilation", "pad"), [
    (1, 5, 1, 1, 0), (2, 4, 3, 1, 1), (2, 3, 2, 2, 0), (4, 2, 2, 1, 0)])
def test_reference_deconvolution_both_loop_orders(size, kernel, stride, dilation, pad):
    from converter.caffe.layers import convolution, deconvolution

    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 4, size, size)).astype(np.float32)
    w = rng.standard_normal((4, 3, kernel, kernel)).astype(np.float32)  # (C, M/group, kh, kw), group 1
    g = convolution.ConvGeometry(4, 3, 1, (kernel, kernel), (stride, stride), (pad, pad), (dilation, dilation), False)
    got = deconvolution.deconv2d(x, w, None, g)
    extent = dilation * (kernel - 1) + 1
    full = np.zeros((2, 3, stride * (size - 1) + extent, stride * (size - 1) + extent))
    for i in range(size):  # scatter each input pixel times the kernel, as the definition reads
        for j in range(size):
            for u in range(kernel):
                for v in range(kernel):
                    full[:, :, i * stride + u * dilation, j * stride + v * dilation] += x[:, :, i, j] @ w[:, :, u, v]
    expected = full[:, :, pad:full.shape[2] - pad, pad:full.shape[3] - pad]
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
