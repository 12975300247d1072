"""Shared test fixtures: where ../shared is, and the golden cases real Caffe computed."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
GOLDEN = SHARED / "golden"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def golden_case(name: str) -> dict:
    """case.json of a golden case, with absolute `prototxt_path`, `weights_path`, `blobs_path`."""
    folder = GOLDEN / name
    if not (folder / "case.json").exists():
        pytest.fail(f"golden case {name} not found under {GOLDEN}: the tests need ../shared beside the repo")
    case = json.loads((folder / "case.json").read_text())
    case["prototxt_path"] = SHARED / case["prototxt"]
    case["weights_path"] = folder / case["weights_file"]
    case["blobs_path"] = folder / "blobs.npz"
    return case


def shared_path(*parts: str | Path) -> Path:
    """A file or folder under ../shared. A missing one fails the test (never skips it): the tests
    need ../shared beside the repo."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.fail(f"{path} not found: the tests need ../shared beside the repo")
    return path


def caffemodel_blobs(path: Path) -> dict[str, list[np.ndarray]]:
    """Each layer's weight blobs as protobuf's own parser reads the caffemodel: expected values built
    from these do not depend on the reader under test."""
    from converter.caffe import caffe_pb2

    model = caffe_pb2.NetParameter()
    model.ParseFromString(Path(path).read_bytes())
    blobs: dict[str, list[np.ndarray]] = {}
    for layer in [*model.layer, *model.layers]:
        arrays = []
        for blob in layer.blobs:
            shape = tuple(blob.shape.dim) if blob.HasField("shape") else (blob.num, blob.channels, blob.height,
                                                                           blob.width)
            arrays.append(np.asarray(blob.data, np.float32).reshape(shape))
        blobs[layer.name] = arrays
    return blobs


@pytest.fixture
def shared() -> Path:
    if not SHARED.exists():
        pytest.fail(f"{SHARED} not found: the tests need ../shared beside the repo")
    return SHARED
