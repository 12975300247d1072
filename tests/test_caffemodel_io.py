"""The memory-mapped wire-format reader and the streaming writer agree with protobuf's own parser."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import GOLDEN
from converter.caffe import caffe_pb2
from converter.caffe.caffemodel import read_caffemodel, write_caffemodel
from converter.errors import WeightsError

MODELS = sorted(GOLDEN.glob("*/weights.caffemodel"))


def blob_shape(blob: caffe_pb2.BlobProto) -> tuple[int, ...]:
    if blob.HasField("shape"):
        return tuple(blob.shape.dim)
    return (blob.num, blob.channels, blob.height, blob.width)


@pytest.mark.parametrize("path", MODELS, ids=lambda p: p.parent.name)
def test_reader_matches_protobuf(path):
    net = caffe_pb2.NetParameter()
    net.ParseFromString(path.read_bytes())
    layers = read_caffemodel(path)
    expected = {layer.name: layer for layer in net.layer if layer.blobs}
    assert set(layers) == set(expected)
    for name, layer in expected.items():
        assert len(layers[name].blobs) == len(layer.blobs)
        for blob, raw in zip(layer.blobs, layers[name].blobs, strict=True):
            assert raw.shape == blob_shape(blob)
            assert np.array_equal(raw.data, np.array(blob.data, dtype=np.float32))
            assert not raw.data.flags.writeable  # a view of the read-only mapped file


def test_writer_output_parses_with_protobuf(tmp_path):
    net = caffe_pb2.NetParameter(name="tiny")
    layer = net.layer.add(name="ip", type="InnerProduct", bottom=["x"], top=["y"])
    layer.inner_product_param.num_output = 3
    weights = {"ip": [np.arange(6, dtype=np.float32).reshape(3, 2), np.array([0.5, -1, 2], np.float32)]}
    write_caffemodel(tmp_path / "tiny.caffemodel", net, weights)
    back = caffe_pb2.NetParameter()
    back.ParseFromString((tmp_path / "tiny.caffemodel").read_bytes())
    assert back.name == "tiny" and back.layer[0].inner_product_param.num_output == 3
    assert [tuple(b.shape.dim) for b in back.layer[0].blobs] == [(3, 2), (3,)]
    assert list(back.layer[0].blobs[0].data) == list(range(6))
    assert list(back.layer[0].blobs[1].data) == [0.5, -1, 2]
    assert not list(tmp_path.glob("*.partial"))


def test_scalar_blobs_keep_their_empty_shape(tmp_path):
    # A shared PReLU slope, or a Scale with num_axes 0, is a 0-axis blob: Caffe writes `shape {}`
    # and, loading, requires exactly that shape (Blob::ShapeEquals), not (1,).
    net = caffe_pb2.NetParameter()
    net.layer.add(name="prelu", type="PReLU").prelu_param.channel_shared = True
    write_caffemodel(tmp_path / "s.caffemodel", net, {"prelu": [np.array(0.25, np.float32)]})
    back = caffe_pb2.NetParameter()
    back.ParseFromString((tmp_path / "s.caffemodel").read_bytes())
    (blob,) = back.layer[0].blobs
    assert blob.HasField("shape") and list(blob.shape.dim) == [] and list(blob.data) == [0.25]
    (raw,) = read_caffemodel(tmp_path / "s.caffemodel")["prelu"].blobs
    assert raw.shape == () and not raw.legacy


def test_legacy_and_double_blobs(tmp_path):
    net = caffe_pb2.NetParameter()
    layer = net.layer.add(name="a")
    legacy = layer.blobs.add(num=1, channels=1, height=2, width=2)
    legacy.data.extend([1, 2, 3, 4])
    doubles = layer.blobs.add()
    doubles.shape.dim.extend([3])
    doubles.double_data.extend([0.25, 0.5, 1e-3])
    (tmp_path / "m.caffemodel").write_bytes(net.SerializeToString())
    raw = read_caffemodel(tmp_path / "m.caffemodel")["a"].blobs
    assert raw[0].legacy and raw[0].shape == (1, 1, 2, 2)
    assert raw[1].shape == (3,) and raw[1].data.dtype == np.float32
    assert np.array_equal(raw[1].data, np.array([0.25, 0.5, 1e-3], np.float32))


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_damaged_files_raise_weights_error(tmp_path, damage):
    data = MODELS[0].read_bytes() if MODELS else b"\x0a\x03abc"
    if damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "garbage":
        data = bytes(np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8))
    else:
        data = b""
    path = tmp_path / "bad.caffemodel"
    path.write_bytes(data)
    with pytest.raises(WeightsError, match="bad.caffemodel"):
        read_caffemodel(path)


def test_of_two_layers_with_one_name_the_last_wins(tmp_path):
    """Caffe's Net::CopyTrainedLayersFrom copies source layers in file order: the later overwrites."""
    net = caffe_pb2.NetParameter(name="twice")
    for value in (1.0, 2.0):
        blob = net.layer.add(name="ip", type="InnerProduct").blobs.add()
        blob.shape.dim.extend([2])
        blob.data.extend([value, value])
    path = tmp_path / "twice.caffemodel"
    path.write_bytes(net.SerializeToString())
    assert read_caffemodel(path)["ip"].blobs[0].data.tolist() == [2.0, 2.0]
