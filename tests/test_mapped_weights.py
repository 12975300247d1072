"""Weights copied file to file from the memory-mapped caffemodel (converter.mapped): the outputs
are what onnx's own builder and parser, torch's loader and zlib make of the same weights, with the
kernel's copy and without it, and loading and writing never make the caffemodel resident."""

from __future__ import annotations

import errno
import os
import zipfile
import zlib
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from onnx import numpy_helper

from conftest import caffemodel_blobs, golden_case
from converter import mapped, pipeline
from converter.caffe import caffe_pb2
from converter.caffe.caffemodel import read_caffemodel, write_caffemodel
from converter.emit.onnx import build_onnx, emit_onnx


@pytest.fixture(scope="module")
def squeezenet() -> pipeline.Conversion:
    case = golden_case("squeezenet_v1.1")
    return pipeline.convert(case["prototxt_path"], case["weights_path"])


def test_a_blobs_extent_holds_its_bytes_in_the_file() -> None:
    path = golden_case("squeezenet_v1.1")["weights_path"]
    raw = read_caffemodel(path)
    expected = caffemodel_blobs(path)  # protobuf's parser
    file_bytes = path.read_bytes()
    for name, layer in raw.items():
        for blob, want in zip(layer.blobs, expected[name], strict=True):
            extent = mapped.extent_of(blob.data)
            assert extent is not None and extent.length == want.nbytes
            assert file_bytes[extent.offset: extent.offset + extent.length] == want.astype("<f4").tobytes()
    assert mapped.extent_of(np.ones(4, np.float32)) is None  # not a view of a mapped file
    assert mapped.extent_of(raw["conv1"].blobs[0].data[::2]) is None  # not one run of the file


def test_streamed_onnx_is_onnx_helpers_model(squeezenet, tmp_path) -> None:
    export = build_onnx(squeezenet.graph)
    assert all(mapped.extent_of(a) is not None for _, a in export.weights)  # the file-to-file path is taken
    export.save(tmp_path / "sq.onnx")
    loaded = onnx.load(str(tmp_path / "sq.onnx"))
    onnx.checker.check_model(loaded, full_check=True)
    assert loaded == emit_onnx(squeezenet.graph)  # built in memory by onnx.helper / numpy_helper


def _refuse_copy(*_args) -> int:
    raise OSError(errno.EXDEV, "Invalid cross-device link")


@pytest.mark.parametrize("kernel_copy", [True, False])
def test_outputs_with_and_without_the_kernels_copy(squeezenet, tmp_path, monkeypatch, kernel_copy: bool) -> None:
    if not kernel_copy:  # a file system (or kernel) that cannot copy between the two files
        monkeypatch.setattr(os, "copy_file_range", _refuse_copy)
    pipeline.emit(squeezenet, formats=("onnx", "pytorch", "safetensors"))
    pipeline.save(squeezenet, tmp_path, "sq")
    blobs = caffemodel_blobs(golden_case("squeezenet_v1.1")["weights_path"])
    stored = sorted(np.ascontiguousarray(b).tobytes() for layer in blobs.values() for b in layer)
    model = onnx.load(str(tmp_path / "sq.onnx"))
    assert sorted(numpy_helper.to_array(t).tobytes() for t in model.graph.initializer) == stored
    with zipfile.ZipFile(tmp_path / "sq.pth") as archive:
        assert archive.testzip() is None  # every entry's CRC-32 checked by zipfile
        for info in archive.infolist():
            assert zlib.crc32(archive.read(info)) == info.CRC
    for state in (torch.load(tmp_path / "sq.pth", weights_only=True),
                  torch.load(tmp_path / "sq.pth", weights_only=True, mmap=True)):
        assert sorted(t.numpy().tobytes() for t in state.values()) == stored
    from safetensors.numpy import load_file

    assert sorted(a.tobytes() for a in load_file(tmp_path / "sq.safetensors").values()) == stored


def _resident_bytes_of(path: Path) -> int:
    """Rss of this process's mappings of `path` (/proc/self/smaps)."""
    total, inside = 0, False
    with open("/proc/self/smaps") as smaps:
        for line in smaps:
            first = line.split(maxsplit=1)[0]
            if "-" in first and not first.endswith(":"):  # a mapping's header line
                inside = line.rstrip("\n").endswith(str(path))
            elif inside and first == "Rss:":
                total += int(line.split()[1]) * 1024
    return total


def test_converting_leaves_the_caffemodel_out_of_resident_memory(tmp_path) -> None:
    net = caffe_pb2.NetParameter(name="wide")
    net.layer.add(name="data", type="Input", top=["data"]).input_param.shape.add(dim=[1, 2048])
    layer = net.layer.add(name="fc", type="InnerProduct", bottom=["data"], top=["fc"])
    layer.inner_product_param.num_output = 1024
    net.layer.add(name="bn", type="BatchNorm", bottom=["fc"], top=["fc"])  # folded into fc: reads its weight
    weights = {"fc": [np.random.default_rng(0).standard_normal((1024, 2048), np.float32), np.zeros(1024, np.float32)],
               "bn": [np.zeros(1024, np.float32), np.full(1024, 3.0, np.float32), np.ones(1, np.float32)]}
    caffemodel = tmp_path / "wide.caffemodel"
    write_caffemodel(caffemodel, net, weights)
    from google.protobuf import text_format

    (tmp_path / "wide.prototxt").write_text(text_format.MessageToString(net))
    conversion = pipeline.convert(tmp_path / "wide.prototxt", caffemodel)
    str(conversion.graph.metadata["source.1.sha256"])  # the hashing thread's windows are gone
    # Every weight was read (checked finite, folded), yet the 8 MB file is not resident in this process.
    assert _resident_bytes_of(caffemodel) < 1 << 20
    pipeline.emit(conversion, formats=("onnx", "pytorch"))
    pipeline.save(conversion, tmp_path, "wide")
    assert _resident_bytes_of(caffemodel) < 1 << 20
    state = torch.load(tmp_path / "wide.pth", weights_only=True)
    # Caffe's BatchNorm at test time: (x - mean / s) / sqrt(var / s + eps), s = 1, eps = 1e-5.
    folded = weights["fc"][0] / np.sqrt(3.0 + 1e-5)
    np.testing.assert_allclose(state[next(k for k in state if k.endswith("weight"))].numpy(), folded, rtol=1e-6)


def test_weights_truncated_before_they_are_copied_are_named(tmp_path) -> None:
    from converter.errors import ConverterError

    case = golden_case("squeezenet_v1.1")
    weights = tmp_path / "sq.caffemodel"
    weights.write_bytes(case["weights_path"].read_bytes())
    conversion = pipeline.convert(case["prototxt_path"], weights)
    pipeline.emit(conversion, formats=("onnx", "pytorch"))
    str(conversion.graph.metadata["source.1.sha256"])  # no hashing thread still reading the file
    os.truncate(weights, 100)  # as another process would, while the file is mapped
    out = tmp_path / "out"
    with pytest.raises(ConverterError, match=f"{weights}: changed while squeeze-convert was reading it"):
        pipeline.save(conversion, out, "sq")
    assert not out.exists() or list(out.iterdir()) == []  # nothing half-written
