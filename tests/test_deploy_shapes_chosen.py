"""Issue 13: shapes the deployer chooses. --batch pins the ONNX batch; --dynamic-hw leaves a fully
convolutional net's height and width symbolic (verified at a second size against the reference
executor, and here against real Caffe's SRCNN blobs), and is refused naming the layer that fixes
them otherwise."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from click.testing import CliRunner

from conftest import golden_case
from converter import pipeline


def dims(value: onnx.ValueInfoProto) -> list[str | int | None]:
    return [d.dim_param or (d.dim_value if d.HasField("dim_value") else None)
            for d in value.type.tensor_type.shape.dim]


def test_batch_pins_every_shape(tiny, tmp_path) -> None:
    import cli

    proto, weights = tiny
    result = CliRunner().invoke(cli.main, [str(proto), "-w", str(weights), "--batch", "3", "--format", "onnx",
                                           "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    model = onnx.load(str(tmp_path / "out" / "tiny.onnx"))
    assert dims(model.graph.input[0]) == [3, 3, 8, 8] and dims(model.graph.output[0]) == [3, 2, 6, 6]
    assert all(dims(v)[0] == 3 for v in model.graph.value_info)
    assert {p.key: p.value for p in model.metadata_props}["input.data"] == "NCHW float32 3x3x8x8"
    onnx.checker.check_model(model, full_check=True)
    onnx.shape_inference.infer_shapes(model, strict_mode=True)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    assert session.run(None, {"data": np.zeros((3, 3, 8, 8), np.float32)})[0].shape == (3, 2, 6, 6)
    with pytest.raises(Exception, match="(?i)dimension|shape"):
        session.run(None, {"data": np.zeros((1, 3, 8, 8), np.float32)})


def test_dynamic_hw_runs_srcnn_at_two_sizes() -> None:
    case = golden_case("wild_srcnn")
    conversion = pipeline.convert(case["prototxt_path"], case["weights_path"])
    pipeline.emit(conversion, formats=("onnx",), dynamic_hw=True)
    report = pipeline.run_verification(conversion, backends=("onnxruntime",))
    assert report.passed
    other = [c for c in report.comparisons if c.backend.startswith("onnxruntime (at ")]
    assert {c.blob for c in other} >= {"conv1|conv1", "conv3|conv3"}
    assert all(c.shape[2:] != [case["input_shape"][2] - 12, case["input_shape"][3] - 12] for c in other)
    model = conversion.onnx_export.to_proto()
    assert dims(model.graph.input[0]) == ["N", 1, "H", "W"]
    onnx.checker.check_model(model, full_check=True)
    # Real Caffe's blob at the recorded size, from the same (dynamic) model.
    blobs = np.load(case["blobs_path"])
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    inputs = {name: blobs[f"input|{name}"] for name in ("data", "label")}
    (conv3,) = session.run(["conv3"], inputs)
    expected = blobs["layer|conv3|conv3"]
    assert np.abs(conv3 - expected).max() <= 1e-4 * max(1.0, np.abs(expected).max())


def test_dynamic_hw_is_refused_naming_the_layer_that_fixes_the_size(tmp_path) -> None:
    from converter.caffe.synthetic import write_synthetic_weights
    from converter.errors import ConverterError

    prototxt = tmp_path / "fc.prototxt"
    prototxt.write_text('name: "fc"\ninput: "data"\ninput_shape { dim: 1 dim: 3 dim: 8 dim: 8 }\n'
                        'layer { name: "c1" type: "Convolution" bottom: "data" top: "c1" '
                        "convolution_param { num_output: 4 kernel_size: 3 } }\n"
                        'layer { name: "classifier" type: "InnerProduct" bottom: "c1" top: "fc" '
                        "inner_product_param { num_output: 5 } }\n")
    weights = tmp_path / "fc.caffemodel"
    write_synthetic_weights(prototxt, weights)
    conversion = pipeline.convert(prototxt, weights)
    with pytest.raises(ConverterError, match="--dynamic-hw.*classifier"):
        pipeline.emit(conversion, dynamic_hw=True)


def test_dynamic_hw_is_refused_for_priorbox_naming_the_layers_and_lines(tmp_path) -> None:
    # PriorBox's boxes depend on the feature map's and the image's size at conversion: a model with
    # symbolic H and W would carry one size's boxes. Refused (exit 2), nothing written, even without
    # verification.
    import cli
    from converter.caffe.synthetic import write_synthetic_weights

    prototxt = tmp_path / "ssd.prototxt"
    prototxt.write_text('input: "data"\ninput_shape { dim: 1 dim: 3 dim: 16 dim: 16 }\n'
                        'layer { name: "conv" type: "Convolution" bottom: "data" top: "conv" '
                        "convolution_param { num_output: 4 kernel_size: 3 stride: 2 } }\n"
                        'layer {\n  name: "priors"\n  type: "PriorBox" bottom: "conv" bottom: "data" top: "priors" '
                        "prior_box_param { min_size: 4 aspect_ratio: 2 flip: true } }\n")
    weights = tmp_path / "ssd.caffemodel"
    write_synthetic_weights(prototxt, weights)
    out = tmp_path / "out"
    out.mkdir()
    done = CliRunner().invoke(cli.main, [str(prototxt), "-w", str(weights), "--dynamic-hw", "--no-verify",
                                         "-o", str(out)])
    assert done.exit_code == 2, done.output
    assert "--dynamic-hw" in done.output and "'priors' (PriorBox, line 5)" in done.output
    assert "Traceback" not in done.output and not list(out.iterdir())


def test_dynamic_hw_is_refused_for_a_reshape_target_written_for_one_size(tmp_path) -> None:
    # Caffe's dims {0, -1, 2} follow the size, but the converted Reshape holds the target computed
    # at the converted size: refused naming the layer, both targets and the line (was an internal
    # error when ONNX Runtime ran the model at the second size).
    from converter.errors import ConverterError

    prototxt = tmp_path / "reshape.prototxt"
    prototxt.write_text('input: "data"\ninput_shape { dim: 1 dim: 2 dim: 6 dim: 6 }\n'
                        'layer { name: "r" type: "Reshape" bottom: "data" top: "r" '
                        "reshape_param { shape { dim: 0 dim: -1 dim: 2 } } }\n")
    conversion = pipeline.convert(prototxt)
    with pytest.raises(ConverterError, match=r"'r' \(Reshape, line 3: target \[0, 36, 2\] \(\[0, 247, 2\] at "
                                             r"13x19\)\)"):
        pipeline.emit(conversion, formats=("onnx",), dynamic_hw=True)
