"""Saved ONNX files (streamed initializers, and external data past the size threshold) load,
pass the checker and give Caffe's recorded outputs."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from conftest import golden_case
from converter import pipeline


@pytest.mark.parametrize("external", [False, True])
def test_saved_model_gives_caffes_outputs(tmp_path, external):
    case = golden_case("squeezenet_v1.1")
    conversion = pipeline.convert(case["prototxt_path"], case["weights_path"], input_shapes={"data": (1, 3, 227, 227)})
    pipeline.emit(conversion, formats=("onnx",))
    path = tmp_path / "m.onnx"
    conversion.onnx_export.save(path, external_threshold=0 if external else 1 << 40)
    assert (tmp_path / "m.onnx.data").exists() == external
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    assert len(model.graph.initializer) == 52
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "N"
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta["source.0.file"] == "deploy.prototxt" and len(meta["source.1.sha256"]) == 64
    blobs = np.load(case["blobs_path"])
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (prob,) = session.run(["prob"], {"data": blobs["input|data"]})
    expected = blobs["output|prob"]
    assert np.abs(prob - expected).max() <= 1e-4 * max(1.0, np.abs(expected).max())
    assert sorted(p.name for p in tmp_path.iterdir()) == (["m.onnx", "m.onnx.data"] if external else ["m.onnx"])
