"""The library as the README shows it: str or Path wherever a path goes, and `save` writes the
verification report once there is one."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from converter import pipeline


@pytest.fixture
def tiny_str(tiny: tuple[Path, Path]) -> tuple[str, str]:
    """The tiny net's files as str paths, as a script would pass them."""
    return str(tiny[0]), str(tiny[1])


def test_the_readme_example_with_str_paths_writes_models_and_report(tiny_str, tmp_path):
    conversion = pipeline.convert(*tiny_str)
    pipeline.emit(conversion)
    report = pipeline.run_verification(conversion)
    out = str(tmp_path / "out")
    written = pipeline.save(conversion, out, "squeezenet")
    names = ["squeezenet.onnx", "squeezenet.pth", "squeezenet.py", "squeezenet.report.json"]
    assert written == [Path(out) / name for name in names]
    assert sorted(os.listdir(out)) == sorted(names)
    assert json.loads((Path(out) / "squeezenet.report.json").read_text())["passed"] is report.passed is True


def test_without_verification_save_writes_no_report(tiny, tmp_path):
    conversion = pipeline.convert(*tiny)
    pipeline.emit(conversion, formats=("onnx",))
    assert pipeline.save(conversion, str(tmp_path), "m") == [tmp_path / "m.onnx"]


def test_save_report_writes_the_report_alone(tiny, tmp_path):
    conversion = pipeline.convert(*tiny)
    with pytest.raises(ValueError, match="run_verification first"):
        pipeline.save_report(conversion, str(tmp_path), "m")
    pipeline.run_verification(conversion, backends=("pytorch",))
    path = pipeline.save_report(conversion, str(tmp_path / "out"), "m")
    assert path == tmp_path / "out" / "m.report.json"
    assert os.listdir(tmp_path / "out") == ["m.report.json"]
    assert json.loads(path.read_text())["passed"] is True


def test_helpers_take_str_paths(tiny_str):
    proto, weights = tiny_str
    assert pipeline.find_weights(proto) == Path(weights)
    conversion = pipeline.convert(proto, weights)
    assert pipeline.output_stem(proto, conversion.net) == "tiny"


def test_recorded_blobs_count_once_among_the_inputs(tiny_str, tmp_path):
    import numpy as np

    conversion = pipeline.convert(*tiny_str)
    x = np.random.default_rng(0).uniform(-1, 1, (1, 3, 8, 8)).astype(np.float32)
    recorded = tmp_path / "blobs.npz"
    np.savez(recorded, **{"input|data": x})
    for _ in range(2):
        pipeline.run_verification(conversion, backends=("pytorch",), expect=str(recorded))
    assert conversion.input_files == [*map(Path, tiny_str), recorded]
