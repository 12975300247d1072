"""The .pth and .safetensors files squeeze-convert writes itself (no torch.save, no safetensors
package): torch.load (weights_only, with and without mmap), Python's zipfile (CRCs), the
safetensors package and the generated module's own `load_weights` read them; every tensor must be
a caffemodel blob bit for bit, and the module with those weights must give what Caffe recorded."""

from __future__ import annotations

import importlib.util
import struct
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import caffemodel_blobs, golden_case
from converter import pipeline
from converter.emit.torch import checkpoint


def _fingerprints(arrays) -> Counter:
    """Each array as (shape, dtype, bytes): a multiset that equal weights give equally."""
    return Counter((tuple(a.shape), np.asarray(a).dtype.str, np.ascontiguousarray(a).tobytes()) for a in arrays)


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> tuple[Path, dict]:
    case = golden_case("squeezenet_v1.1")
    conversion = pipeline.convert(case["prototxt_path"], case["weights_path"])
    pipeline.emit(conversion, formats=("pytorch", "safetensors"))
    out = tmp_path_factory.mktemp("checkpoint")
    pipeline.save(conversion, out, "sq")
    return out, case


def test_pth_loads_bit_for_bit_with_and_without_mmap(written) -> None:
    out, case = written
    source = _fingerprints(b for blobs in caffemodel_blobs(case["weights_path"]).values() for b in blobs)
    for mmap in (False, True):
        state = torch.load(out / "sq.pth", weights_only=True, mmap=mmap)
        assert _fingerprints(t.numpy() for t in state.values()) == source
    with zipfile.ZipFile(out / "sq.pth") as archive:
        assert archive.testzip() is None  # every stored CRC-32 matches its data
        raw = (out / "sq.pth").read_bytes()
        for info in archive.infolist():
            name_length, extra_length = struct.unpack("<HH", raw[info.header_offset + 26: info.header_offset + 30])
            start = info.header_offset + 30 + name_length + extra_length
            assert not info.filename.startswith("archive/data/") or start % 64 == 0, info.filename


def test_safetensors_loads_in_the_package_and_in_the_generated_module(written) -> None:
    from safetensors.numpy import load_file

    out, case = written
    from_package = load_file(str(out / "sq.safetensors"))
    pth = torch.load(out / "sq.pth", weights_only=True)
    assert list(from_package) == list(pth)
    assert _fingerprints(from_package.values()) == _fingerprints(t.numpy() for t in pth.values())

    spec = importlib.util.spec_from_file_location("generated_sq", out / "sq.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    loaded = module.load_weights(out / "sq.safetensors")
    assert _fingerprints(t.numpy() for t in loaded.values()) == _fingerprints(from_package.values())
    net = next(getattr(module, n) for n in dir(module) if isinstance(getattr(module, n), type)
               and issubclass(getattr(module, n), torch.nn.Module) and n != "Fire")()
    net.load_state_dict(loaded)
    blobs = np.load(case["blobs_path"])
    with torch.no_grad():
        prob = net.eval()(torch.from_numpy(blobs["input|data"])).numpy()
    expected = blobs["output|prob"]
    assert np.abs(prob.reshape(expected.shape) - expected).max() <= 1e-4 * max(1.0, np.abs(expected).max())


def test_zip64_entries_load(tmp_path, monkeypatch) -> None:
    """Past 4 GiB, sizes and offsets go to zip64 fields: forced here for every entry."""
    arrays = {"w": np.arange(24, dtype=">f4").reshape(2, 3, 4), "scalar": np.array(2.5, np.float32),
              "empty": np.zeros((0, 3), np.float32)}
    monkeypatch.setattr(checkpoint, "ZIP64_LIMIT", 0)
    with open(tmp_path / "w.pth", "wb") as f:
        checkpoint.write_state_dict(f, arrays)
    with zipfile.ZipFile(tmp_path / "w.pth") as archive:
        assert archive.testzip() is None
    for mmap in (False, True):
        state = torch.load(tmp_path / "w.pth", weights_only=True, mmap=mmap)
        assert {k: (tuple(v.shape), v.numpy().tolist()) for k, v in state.items()} == \
            {k: (a.shape, a.astype(np.float32).tolist()) for k, a in arrays.items()}
