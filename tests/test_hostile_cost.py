"""Issue 14, cost: what a small hostile input can make squeeze-convert spend is bounded by its size.
Blob shapes are capped while the caffemodel is read, the graph passes are linear, the layer count
is capped, recorded blobs are inflated only when the net uses them, and messages are shortened."""

from __future__ import annotations

import gc
import time
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from cli import main
from conftest import TINY_NET
from converter import pipeline
from converter.caffe import caffe_pb2, loader
from converter.caffe.layers import expected_blobs
from converter.caffe.prototxt import parse_prototxt_text
from converter.errors import ConverterError, ModelError


def cli(*args: object) -> object:
    return CliRunner().invoke(main, [str(a) for a in args])


def _caffemodel_declaring(path: Path, dims: list[int]) -> None:
    """A caffemodel whose first layer has one blob of shape `dims` and no values."""
    model = caffe_pb2.NetParameter()
    layer = model.layer.add(name="c1", type="Convolution")
    layer.blobs.add().shape.dim.extend(dims)
    path.write_bytes(model.SerializeToString())


@pytest.mark.parametrize("count, dim, reason", [
    (300, 1 << 62, "a blob dimension of 4611686018427387904, more than"),  # the 3.2 kB file
    (1_000_000, 1 << 62, "a blob dimension of 4611686018427387904, more than"),  # 9 MB of them
    (1_000_000, 1, "a blob shape with more than 32 axes"),
    (1, (1 << 31) + 1, "a blob dimension of 2147483649, more than the 2,147,483,648 values"),
])
def test_a_blob_shape_no_blob_could_have_is_refused_while_reading(tiny, tmp_path, count, dim, reason):
    proto, _ = tiny
    weights = tmp_path / "hostile.caffemodel"
    _caffemodel_declaring(weights, [dim] * count)
    started = time.perf_counter()
    done = cli("inspect", proto, "-w", weights)
    assert done.exit_code == 2, done.output
    assert f"{weights}: not a readable caffemodel" in done.output
    assert reason in done.output
    assert len(done.output) < 500
    assert time.perf_counter() - started < 10  # it was more than 10 minutes for a million axes


def _block_net(blocks: int) -> caffe_pb2.NetParameter:
    """`blocks` repetitions of a Fire module, a Dropout, and a convolution with BatchNorm and Scale:
    a net every pass has work in, of 1x1 images and few channels so that only the graph's size costs."""
    net = caffe_pb2.NetParameter()
    net.input.append("data")
    net.input_shape.add().dim.extend([1, 2, 1, 1])
    previous = "data"

    def add(name: str, kind: str, bottoms: list[str], top: str, **params: dict) -> None:
        layer = net.layer.add(name=name, type=kind, top=[top], bottom=bottoms)
        for field, values in params.items():
            getattr(layer, field).MergeFrom(type(getattr(layer, field))(**values))

    for i in range(blocks):
        b = f"b{i}/"
        add(b + "squeeze", "Convolution", [previous], b + "s", convolution_param={"num_output": 1, "kernel_size": [1]})
        add(b + "squeeze_relu", "ReLU", [b + "s"], b + "s")
        add(b + "e1", "Convolution", [b + "s"], b + "e1", convolution_param={"num_output": 1, "kernel_size": [1]})
        add(b + "e1_relu", "ReLU", [b + "e1"], b + "e1")
        add(b + "e3", "Convolution", [b + "s"], b + "e3",
            convolution_param={"num_output": 1, "kernel_size": [3], "pad": [1]})
        add(b + "e3_relu", "ReLU", [b + "e3"], b + "e3")
        add(b + "concat", "Concat", [b + "e1", b + "e3"], b + "cat")
        add(b + "drop", "Dropout", [b + "cat"], b + "cat")
        add(b + "conv", "Convolution", [b + "cat"], b + "c", convolution_param={"num_output": 2, "kernel_size": [1]})
        add(b + "bn", "BatchNorm", [b + "c"], b + "c")
        add(b + "scale", "Scale", [b + "c"], b + "c", scale_param={"bias_term": True})
        previous = b + "c"
    return net


def _convert_seconds(blocks: int) -> float:
    net = _block_net(blocks)
    gc.collect()
    gc.disable()  # the collector's pauses land anywhere: they would be counted to either size
    try:
        started = time.process_time()  # CPU time: what the code costs, whatever else the machine runs
        caffe_net = loader.build_net(net)
        for layer in caffe_net.layers:
            layer.blobs = [np.ones(shape, np.float32) for shape in expected_blobs(layer)]
        graph = pipeline.build_graph(caffe_net, fold_batchnorm=True)
        seconds = time.process_time() - started
    finally:
        gc.enable()
    assert sum(type(node).__name__ == "Fire" for node in graph.nodes) == blocks
    assert len(graph.nodes) == 2 * blocks  # each block: one Fire, one convolution with BN and Scale folded in
    return seconds


def test_shape_inference_lift_and_every_pass_are_linear_in_the_layers():
    """Four times the layers must cost about four times as much, not sixteen (Fire fusion alone was
    12 s at 8,000 layers): the README gives the figure for 10^5 layers."""
    small = min(_convert_seconds(150) for _ in range(2))  # the first also warms caches up
    large = _convert_seconds(600)
    assert large < 10 * small, (small, large)  # linear: about 4; quadratic: 16


def test_the_number_of_layers_is_capped_with_a_clear_message(monkeypatch):
    monkeypatch.setattr(loader, "MAX_LAYERS", 2)
    with pytest.raises(ModelError, match="the net has 4 layers and inputs; at most 2 are converted"):
        loader.build_net(parse_prototxt_text(TINY_NET))


def _npz_with_unused_bomb(path: Path, inputs: dict[str, np.ndarray], bomb_values: int) -> None:
    """An npz with the net's input and a member no layer of the net has: `bomb_values` float32
    zeros, written in slices (they compress about a thousandfold)."""
    from numpy.lib import format as npy

    np.savez(path, **inputs)
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive, \
            archive.open("layer|not_in_this_net|x.npy", "w", force_zip64=True) as member:
        npy.write_array_header_1_0(member, {"descr": "<f4", "fortran_order": False, "shape": (bomb_values,)})
        zeros = bytes(1 << 20)
        for _ in range(bomb_values * 4 >> 20):
            member.write(zeros)


def test_recorded_blobs_the_net_does_not_have_are_never_inflated(tiny, tmp_path):
    proto, weights = tiny
    conversion = pipeline.convert(proto, weights)
    recorded = tmp_path / "blobs.npz"
    _npz_with_unused_bomb(recorded, {"input|data": np.zeros((1, 3, 8, 8), np.float32)}, 16 << 20)
    from converter.verify import load_recorded_for

    tracemalloc.start()
    try:
        blobs = load_recorded_for(conversion.net, recorded)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert list(blobs.inputs) == ["data"] and blobs.layers == {}
    assert peak < 8 << 20, peak  # the 64 MB member stayed compressed


def test_recorded_blobs_beyond_the_memory_available_are_refused_before_inflating(tiny, tmp_path, monkeypatch):
    from converter import memory
    from converter.verify import load_recorded_for

    proto, weights = tiny
    conversion = pipeline.convert(proto, weights)
    recorded = tmp_path / "blobs.npz"
    np.savez(recorded, **{"input|data": np.zeros((1, 3, 8, 8), np.float32)})
    monkeypatch.setattr(memory, "available_bytes", lambda: 1000)
    with pytest.raises(ConverterError, match="inflated, 0.0 GiB is available"):
        load_recorded_for(conversion.net, recorded)


def test_error_messages_are_shortened(tmp_path):
    proto = tmp_path / "net.prototxt"
    name = "x" * 3_000_000
    proto.write_text(f'input: "data"\ninput_shape {{ dim: 1 dim: 1 dim: 1 dim: 1 }}\n'
                     f'layer {{ name: "{name}" type: "NoSuchType" bottom: "data" top: "y" }}\n')
    done = cli(proto)
    assert done.exit_code == 2
    assert "unsupported layer types" in done.output and "characters left out" in done.output
    assert len(done.output) < 3000


def test_unpacked_float_values_cost_four_bytes_each(tmp_path):
    """Floats written one field each (no writer does that, a hostile file can) are read as one
    float32 array, not one Python object per value."""
    from converter.caffe.caffemodel import read_caffemodel
    from converter.caffe.wire import (
        BLOB_DATA,
        FIXED32,
        LAYER_BLOBS,
        LAYER_NAME,
        NET_LAYER,
        encode_key,
        encode_len_header,
    )

    values = np.arange(200_000, dtype="<f4")
    blob = b"".join(encode_key(BLOB_DATA, FIXED32) + v.tobytes() for v in values)
    name = encode_len_header(LAYER_NAME, 2) + b"c1"
    layer = name + encode_len_header(LAYER_BLOBS, len(blob)) + blob
    path = tmp_path / "unpacked.caffemodel"
    path.write_bytes(encode_len_header(NET_LAYER, len(layer)) + layer)
    tracemalloc.start()
    try:
        layers = read_caffemodel(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    np.testing.assert_array_equal(layers["c1"].blobs[0].data, values)
    assert peak < 4 * values.nbytes, peak  # a Python float each: 8 times
