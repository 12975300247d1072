"""Verification at batch 1 by default: a prototxt's batch (BVLC GoogLeNet says 10) multiplies what
verification costs and checks nothing more, since every image of a batch runs the same code."""

from __future__ import annotations

import json

import onnx

from conftest import run_cli_in_process, shared_path


def test_googlenet_converts_with_verification_at_batch_1(tmp_path):
    from converter.caffe.synthetic import write_synthetic_weights

    prototxt = shared_path("reference_models", "bvlc", "bvlc_googlenet", "deploy.prototxt")
    assert "dim: 10" in prototxt.read_text()
    weights = tmp_path / "googlenet.caffemodel"
    write_synthetic_weights(prototxt, weights)
    done = run_cli_in_process(prototxt, "-w", weights, "-o", tmp_path, "--format", "onnx")
    assert done.returncode == 0, done.stderr
    assert "verifying at batch 1 (the prototxt declares data [10, 3, 224, 224]" in done.stderr
    report = json.loads((tmp_path / "bvlc_googlenet.report.json").read_text())
    assert report["passed"] and report["inputs"] == {"data": [1, 3, 224, 224]}
    # The exported model still takes any batch.
    (data,) = onnx.load(tmp_path / "bvlc_googlenet.onnx", load_external_data=False).graph.input
    batch = data.type.tensor_type.shape.dim[0]
    assert batch.dim_param and not batch.HasField("dim_value")
