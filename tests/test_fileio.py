"""File helpers: background sha256 of source files, and progress bars only on a terminal."""

from __future__ import annotations

import hashlib
import io
import sys

import numpy as np
import onnx
import pytest

from converter.emit.onnx import OnnxModel
from converter.errors import ConverterError
from converter.fileio import FileDigest, progress


@pytest.mark.parametrize("size", [0, 1000, 9 << 20])  # below and above the size hashed on a thread
def test_file_digest_is_the_sha256_of_the_file(tmp_path, size):
    path = tmp_path / "f.bin"
    content = np.random.default_rng(size).bytes(size)
    path.write_bytes(content)
    digest = FileDigest(path)
    assert digest.hexdigest() == hashlib.sha256(content).hexdigest()
    assert str(digest) == hashlib.sha256(content).hexdigest()


def test_file_digest_of_an_unreadable_file_names_it(tmp_path):
    digest = FileDigest(tmp_path / "gone.caffemodel")
    with pytest.raises(ConverterError, match=r"gone\.caffemodel: cannot read it"):
        digest.hexdigest()


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("terminal", [False, True])
def test_progress_bar_only_on_a_terminal(monkeypatch, terminal):
    stderr = _Terminal() if terminal else io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)
    with progress(100 << 20, "writing big.onnx") as bar:
        bar.update(100 << 20)
    assert ("writing big.onnx" in stderr.getvalue()) == terminal


def test_no_progress_bar_for_small_amounts(monkeypatch):
    monkeypatch.setattr(sys, "stderr", _Terminal())
    with progress(1 << 20, "writing small.onnx") as bar:
        bar.update(1 << 20)
    assert sys.stderr.getvalue() == ""


def test_saving_a_large_model_shows_a_bar_on_a_terminal(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "stderr", _Terminal())
    model = OnnxModel(onnx.ModelProto(ir_version=8), [("w", np.zeros(64 << 18, np.float32))])
    model.save(tmp_path / "big.onnx")
    assert "writing big.onnx" in sys.stderr.getvalue()
    assert onnx.load(str(tmp_path / "big.onnx")).graph.initializer[0].dims == [64 << 18]


def test_saving_a_large_checkpoint_shows_a_bar_on_a_terminal(tmp_path, monkeypatch):
    import torch

    from converter.emit.torch import TorchExport, save_torch

    monkeypatch.setattr(sys, "stderr", _Terminal())
    weights = torch.arange(64 << 18, dtype=torch.float32)
    save_torch(TorchExport("", {"w": weights}, {}, "M"), tmp_path / "big.pth", tmp_path / "big.py")
    assert "writing big.pth" in sys.stderr.getvalue()
    assert torch.equal(torch.load(tmp_path / "big.pth", weights_only=True)["w"], weights)
