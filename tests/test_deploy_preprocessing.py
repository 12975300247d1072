"""Issue 13: preprocessing as data (transform_param, mean files, options; ONNX metadata, the PyTorch
module, the report) and baked into the model (folded into the first convolution or explicit ops).

Expected inputs are computed here from Caffe's DataTransformer semantics ((pixel - mean) * scale,
center crop of a mean image at TEST) and torchvision's Normalize; outputs are compared with Caffe's
recorded blobs or with Caffe's convolution and ReLU written as loops (emit_common.conv_loop)."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
import torch
from emit_torch.test_torchvision_layout import torchvision_forward, torchvision_state_shapes

from conftest import caffemodel_blobs, golden_case, shared_path
from converter import pipeline
from emit_common import conv_loop

TORCHVISION_MEAN = np.array([0.485, 0.456, 0.406])
TORCHVISION_STD = np.array([0.229, 0.224, 0.225])


def run(model, x: np.ndarray) -> np.ndarray:  # noqa: ANN001 - an OnnxModel
    proto = model.to_proto()
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {proto.graph.input[0].name: x})[0]


def metadata(model) -> dict[str, str]:  # noqa: ANN001 - an OnnxModel
    return {p.key: p.value for p in model.header().metadata_props}


TRAIN_VAL = '''name: "scaled"
layer { name: "data" type: "Data" top: "data" top: "label" include { phase: TRAIN }
  transform_param { mirror: true crop_size: 6 mean_value: 103.94 mean_value: 116.78 mean_value: 123.68
                    scale: 0.017 } data_param { source: "train_lmdb" batch_size: 8 } }
layer { name: "data" type: "Data" top: "data" top: "label" include { phase: TEST }
  transform_param { mirror: false crop_size: 6 %s scale: 0.017 } data_param { source: "val_lmdb" batch_size: 2 } }
layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1"
  convolution_param { num_output: 4 kernel_size: 3 %s } }
layer { name: "relu1" type: "ReLU" bottom: "conv1" top: "conv1" }
layer { name: "loss" type: "SoftmaxWithLoss" bottom: "conv1" bottom: "label" top: "loss" }
'''
MEAN_VALUES = "mean_value: 103.94 mean_value: 116.78 mean_value: 123.68"


def scaled_net(tmp_path, mean: str = MEAN_VALUES, conv: str = ""):  # noqa: ANN001, ANN201
    from converter.caffe.synthetic import write_synthetic_weights

    prototxt = tmp_path / "train_val.prototxt"
    prototxt.write_text(TRAIN_VAL % (mean, conv))
    weights = tmp_path / "w.caffemodel"
    write_synthetic_weights(prototxt, weights, input_shapes={"data": (2, 3, 6, 6)})
    return prototxt, weights


def test_transform_param_is_recorded_in_onnx_pytorch_and_report(tmp_path) -> None:
    prototxt, weights = scaled_net(tmp_path)
    conversion = pipeline.convert(prototxt, weights, input_shapes={"data": (2, 3, 6, 6)})
    pipeline.emit(conversion)
    meta = metadata(conversion.onnx_export)
    assert meta["Image.BitmapPixelFormat"] == "Bgr8" and meta["Image.NominalPixelRange"] == "NominalRange_0_255"
    assert meta["Image.ColorSpaceGamma"] == "SRGB"
    assert meta["preprocessing.mean"] == "103.94,116.78,123.68" and meta["preprocessing.scale"] == "0.017"
    assert meta["preprocessing.crop_size"] == "6"
    assert meta["preprocessing.mirror"] == "false"  # the TEST layer's, not the TRAIN layer's
    assert "layer 'data' transform_param" in meta["preprocessing.source"]
    assert "default for Caffe image models" in meta["preprocessing.source"]  # channel order: nothing said
    namespace: dict[str, object] = {}
    exec(compile(conversion.torch_export.source, "<generated>", "exec"), namespace)  # noqa: S102
    module_class = namespace[conversion.torch_export.class_name]
    assert module_class.preprocessing["mean"] == [103.94, 116.78, 123.68]
    assert module_class.preprocessing["scale"] == [0.017] and module_class.preprocessing["channel_order"] == "bgr"
    assert "BGR" in module_class.__doc__ and "0.017" in module_class.__doc__
    pipeline.run_verification(conversion)
    report = pipeline.report_document(conversion, "scaled")
    assert report["preprocessing"]["mean"] == [103.94, 116.78, 123.68] and report["preprocessing"]["scale"] == [0.017]


def test_options_override_and_a_mean_file_is_center_cropped(tmp_path) -> None:
    from converter.caffe import caffe_pb2

    mean = np.random.default_rng(1).uniform(90, 130, (1, 3, 10, 10)).astype(np.float32)
    blob = caffe_pb2.BlobProto(num=1, channels=3, height=10, width=10)
    blob.data.extend(mean.reshape(-1).tolist())
    (tmp_path / "mean.binaryproto").write_bytes(blob.SerializeToString())
    prototxt, weights = scaled_net(tmp_path, mean='mean_file: "mean.binaryproto"')
    conversion = pipeline.convert(prototxt, weights, input_shapes={"data": (1, 3, 6, 6)})
    # Caffe's TEST crop: offset (10 - 6) // 2 = 2 in both directions.
    np.testing.assert_array_equal(conversion.preprocessing.mean_image, mean[0, :, 2:8, 2:8])
    assert conversion.preprocessing.mean_file == "mean.binaryproto"

    np.save(tmp_path / "values.npy", np.array([1.0, 2.0, 3.0], np.float32))
    overridden = pipeline.convert(prototxt, weights, input_shapes={"data": (1, 3, 6, 6)},
                                  preprocessing={"mean_file": tmp_path / "values.npy", "scale": 0.5,
                                                 "channel_order": "rgb", "input_range": "0-1"})
    pipeline.emit(overridden, formats=("onnx",))
    meta = metadata(overridden.onnx_export)
    assert meta["preprocessing.mean"] == "1,2,3" and meta["preprocessing.scale"] == "0.5"
    assert meta["Image.BitmapPixelFormat"] == "Rgb8" and meta["Image.NominalPixelRange"] == "Normalized_0_1"
    assert "--mean-file" in meta["preprocessing.source"] and "--channel-order" in meta["preprocessing.source"]


@pytest.mark.parametrize("conv,mean,how", [("", MEAN_VALUES, "folded"), ("pad: 1", MEAN_VALUES, "explicit"),
                                           ("", "mean_file: 'mean.npy'", "explicit")],
                         ids=["folded", "padded_conv", "per_pixel_mean"])
@pytest.mark.parametrize("target", ["rgb01", "rgb255", "bgr255"])
def test_baked_model_on_the_raw_image_equals_the_plain_one_on_the_preprocessed_image(tmp_path, conv, mean, how,
                                                                                     target) -> None:
    rng = np.random.default_rng(5)
    mean_image = rng.uniform(90, 130, (3, 6, 6)).astype(np.float32)
    np.save(tmp_path / "mean.npy", mean_image)
    prototxt, weights = scaled_net(tmp_path, mean=mean, conv=conv)
    conversion = pipeline.convert(prototxt, weights, input_shapes={"data": (2, 3, 6, 6)})
    pipeline.emit(conversion, bake=target)
    assert how in conversion.baked_preprocessing.baked_how
    rgb01 = rng.uniform(0, 1, (2, 3, 6, 6))
    bgr255 = rgb01[:, ::-1] * 255
    shift = mean_image[None] if "mean_file" in mean else np.array([103.94, 116.78, 123.68]).reshape(1, 3, 1, 1)
    caffe_input = ((bgr255 - shift) * 0.017).astype(np.float32)
    raw = {"rgb01": rgb01, "rgb255": rgb01 * 255, "bgr255": bgr255}[target].astype(np.float32)
    # Caffe's conv1 then ReLU on what its DataTransformer gives, as loops (not the plain export's output).
    weight, bias = caffemodel_blobs(weights)["conv1"]  # protobuf's own reading, not the converter's
    pad = (1, 1) if conv == "pad: 1" else (0, 0)
    expected = np.maximum(conv_loop(caffe_input, weight, bias, (1, 1), pad, (0, 0), (1, 1), 1), 0)
    np.testing.assert_allclose(run(conversion.onnx_export, caffe_input), expected, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(run(conversion.baked_onnx, raw), expected, rtol=1e-4, atol=1e-4)
    from converter.emit.torch import load_module

    with torch.no_grad():
        baked_torch = load_module(conversion.baked_torch)(torch.from_numpy(raw)).numpy()
    np.testing.assert_allclose(baked_torch, expected, rtol=1e-4, atol=1e-4)
    meta = metadata(conversion.baked_onnx)
    assert meta["preprocessing.baked"] == target and meta["preprocessing.mean"] == "0"
    assert meta["Image.BitmapPixelFormat"] == ("Bgr8" if target == "bgr255" else "Rgb8")
    assert conversion.baked_onnx.skeleton.graph.input[0].type.denotation == "IMAGE"
    report = pipeline.run_verification(conversion)
    assert report.passed and any("baked" in c.backend for c in report.comparisons)


@pytest.fixture(scope="module")
def cat_conversion():
    case = golden_case("deep_compression_cat")
    weights = shared_path("reference_models", "deep_compression_squeezenet", "compressed_SqueezeNet.net")
    trainval = shared_path("reference_models", "deep_compression_squeezenet", "SqueezeNet_trainval.prototxt")
    return case, pipeline.convert(trainval, weights, input_shapes={"data": (1, 3, 227, 227)})


@pytest.mark.parametrize("bake", [None, "rgb01", "torchvision-normalize"])
def test_cat_gives_caffes_top5_from_each_model_fed_as_its_metadata_says(cat_conversion, bake) -> None:
    from converter import demo
    from converter.preprocessing import from_metadata

    case, conversion = cat_conversion
    pipeline.emit(conversion, formats=("onnx",), bake=bake)
    model = conversion.saved_onnx
    fed_as = from_metadata(metadata(model))
    x = demo.load_image_as(shared_path("reference_models", "images", "cat.jpg"), (227, 227), fed_as)
    scores = run(model, x).reshape(-1)
    assert list(np.argsort(-scores)[:5]) == case["top5"]
    if bake is None:  # the plain model is fed what Caffe was fed
        recorded = np.load(case["blobs_path"])["input|data"]
        assert np.abs(x - recorded).max() <= 1e-4


def test_cli_classify_with_a_baked_model() -> None:
    from click.testing import CliRunner

    import cli

    case = golden_case("deep_compression_cat")
    folder = shared_path("reference_models", "deep_compression_squeezenet")
    result = CliRunner().invoke(cli.main, ["classify", str(folder / "SqueezeNet_deploy.prototxt"),
                                           str(shared_path("reference_models", "images", "cat.jpg")),
                                           "-w", str(folder / "compressed_SqueezeNet.net"),
                                           "--bake-preprocessing", "rgb01", "--scale", "1"])
    assert result.exit_code == 0, result.output
    assert [int(line.split()[1]) for line in result.output.splitlines()[1:]] == case["top5"]


def test_torchvision_normalized_checkpoint_runs_in_torchvisions_squeezenet() -> None:
    """The v1.1 checkpoint baked for torchvision's normalisation, run by torchvision's SqueezeNet
    forward (written in tests/emit_torch from torchvision's squeezenet.py) on the torchvision-normalised
    image, gives what real Caffe computed on the Caffe-preprocessed one."""
    case = golden_case("squeezenet_v1.1")
    # DeepScale's deploy.prototxt says nothing of the mean: given as its train_val has it.
    conversion = pipeline.convert(case["prototxt_path"], case["weights_path"],
                                  preprocessing={"mean": (104.0, 117.0, 123.0)})
    pipeline.emit(conversion, formats=("pytorch",), bake="torchvision-normalize")
    state = {key: torch.as_tensor(np.asarray(value)) for key, value in conversion.baked_torch.state_dict.items()}
    assert [(k, tuple(v.shape)) for k, v in state.items()] == torchvision_state_shapes("1_1")
    blobs = np.load(case["blobs_path"])
    caffe_input = blobs["input|data"].astype(np.float64)
    rgb01 = (caffe_input + np.array([104.0, 117.0, 123.0]).reshape(1, 3, 1, 1))[:, ::-1] / 255
    normalised = (rgb01 - TORCHVISION_MEAN.reshape(1, 3, 1, 1)) / TORCHVISION_STD.reshape(1, 3, 1, 1)
    with torch.no_grad():
        logits = torchvision_forward(state, "1_1", torch.from_numpy(normalised.astype(np.float32)))
    expected = blobs["output|prob"].reshape(logits.shape)
    np.testing.assert_allclose(torch.softmax(logits, 1).numpy(), expected, rtol=1e-4, atol=1e-5)
