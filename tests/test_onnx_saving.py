"""Saved ONNX files (streamed initializers, and external data past the size threshold) load,
pass the checker and give Caffe's recorded outputs."""

from __future__ import annotations

import hashlib

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from click.testing import CliRunner

from conftest import golden_case
from converter import pipeline


def _check_saved(path, case, external: bool) -> None:
    assert (path.parent / f"{path.name}.data").exists() == external
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    assert len(model.graph.initializer) == 52
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "N"
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta["source.0.file"] == "deploy.prototxt" and meta["source.1.file"] == case["weights_path"].name
    for i, source in enumerate([case["prototxt_path"], case["weights_path"]]):
        assert meta[f"source.{i}.sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    blobs = np.load(case["blobs_path"])
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (prob,) = session.run(["prob"], {"data": blobs["input|data"]})
    expected = blobs["output|prob"]
    assert np.abs(prob - expected).max() <= 1e-4 * max(1.0, np.abs(expected).max())
    names = [path.name, f"{path.name}.data"] if external else [path.name]
    assert sorted(p.name for p in path.parent.iterdir()) == sorted(names)


@pytest.mark.parametrize("external", [False, True])
def test_saved_model_gives_caffes_outputs(tmp_path, external):
    case = golden_case("squeezenet_v1.1")
    conversion = pipeline.convert(case["prototxt_path"], case["weights_path"], input_shapes={"data": (1, 3, 227, 227)})
    pipeline.emit(conversion, formats=("onnx",))
    path = tmp_path / "m.onnx"
    conversion.onnx_export.save(path, external_threshold=0 if external else 1 << 40)
    _check_saved(path, case, external)


def test_command_line_writes_external_data_past_the_threshold(tmp_path, monkeypatch):
    """The path a model past 2 GB takes from the command line, with the threshold lowered below
    SqueezeNet's 5 MB instead of writing 2 GB."""
    import cli
    from converter.emit.onnx import model as onnx_model

    case = golden_case("squeezenet_v1.1")
    monkeypatch.setattr(onnx_model, "EXTERNAL_DATA_THRESHOLD", 1 << 20)
    done = CliRunner().invoke(cli.main, [str(case["prototxt_path"]), "-w", str(case["weights_path"]), "--format",
                                         "onnx", "--no-verify", "-o", str(tmp_path), "--name", "m"])
    assert done.exit_code == 0, done.output
    _check_saved(tmp_path / "m.onnx", case, external=True)
    skeleton = onnx.load(str(tmp_path / "m.onnx"), load_external_data=False)
    assert all(t.data_location == onnx.TensorProto.EXTERNAL for t in skeleton.graph.initializer)
    assert (tmp_path / "m.onnx").stat().st_size < 1 << 20
