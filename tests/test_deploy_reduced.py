"""Issue 13: smaller, faster variants. --fp16 (float16 weights and compute, float32 I/O) and --int8
(static quantization, per-channel int8 weights, calibrated on images) write extra ONNX files, each
checked against the float32 model with its own tolerance; both still give Caffe's top-1 on cat.jpg
(real Deep Compression weights, Caffe's recorded ranking)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import onnx
import onnxruntime as ort
from click.testing import CliRunner

from conftest import golden_case, shared_path


def test_fp16_and_int8_are_written_checked_and_keep_caffes_top1(tmp_path) -> None:
    import cli
    from converter import demo
    from converter.preprocessing import from_metadata

    case = golden_case("deep_compression_cat")
    folder = shared_path("reference_models", "deep_compression_squeezenet")
    images = tmp_path / "images"
    images.mkdir()
    for name in ("cat.jpg", "dog.jpg"):
        shutil.copy(shared_path("reference_models", "images", name), images / name)
    out = tmp_path / "out"
    result = CliRunner().invoke(cli.main, [str(folder / "SqueezeNet_deploy.prototxt"), "-w",
                                           str(folder / "compressed_SqueezeNet.net"), "--format", "onnx",
                                           "--mean", "104,117,123", "--fp16", "--int8", "--calibration-images",
                                           str(images), "-o", str(out), "--name", "squeezenet"])
    assert result.exit_code == 0, result.output
    assert "fp16: top-1 agreement" in result.output and "int8: top-1 agreement" in result.output
    report = json.loads((out / "squeezenet.report.json").read_text())
    checks = {check["kind"]: check for check in report["reduced"]}
    assert checks["fp16"]["tolerance"] == 1e-2 and checks["int8"]["tolerance"] == 0.1
    assert all(check["passed"] and check["images"] == 2 for check in checks.values())

    fp16 = onnx.load(str(out / "squeezenet.fp16.onnx"))
    int8 = onnx.load(str(out / "squeezenet.int8.onnx"))
    float32_size = (out / "squeezenet.onnx").stat().st_size
    assert (out / "squeezenet.fp16.onnx").stat().st_size < 0.6 * float32_size
    assert (out / "squeezenet.int8.onnx").stat().st_size < 0.4 * float32_size
    assert fp16.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert fp16.graph.output[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert any(t.data_type == onnx.TensorProto.FLOAT16 for t in fp16.graph.initializer)
    conv_weight_scales = [t for t in int8.graph.initializer if t.name.startswith("conv1.weight") and "scale" in t.name]
    assert conv_weight_scales and conv_weight_scales[0].dims == [96]  # per output channel
    assert any(t.data_type == onnx.TensorProto.INT8 for t in int8.graph.initializer)

    meta = {p.key: p.value for p in onnx.load(str(out / "squeezenet.onnx")).metadata_props}
    x = demo.load_image_as(shared_path("reference_models", "images", "cat.jpg"), (227, 227), from_metadata(meta))
    for model in (fp16, int8):
        session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        scores = session.run(None, {"data": x})[0].reshape(-1)
        assert int(np.argmax(scores)) == case["top5"][0]


def test_int8_needs_calibration_images(tiny) -> None:
    import cli

    proto, weights = tiny
    result = CliRunner().invoke(cli.main, [str(proto), "-w", str(weights), "--int8", "--no-verify"])
    assert result.exit_code == 2 and "--calibration-images" in result.output
