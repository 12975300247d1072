"""make-weights: demo weights that keep every activation of order one, however deep the net.

Swept over every prototxt in ../shared/reference_models and ../shared/wild that the converter
loads (new layer types make more of them load; each is picked up here as soon as it does): every
blob the reference executor computes on an input other than the one the weights were calibrated on
stays below 1e3 in magnitude, and no Softmax output is one-hot (a one-hot output compares equal
whatever the logits were, so output-only checks would check nothing).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import SHARED, WILD_MODELS, shared_path
from converter.caffe.prototxt import parse_prototxt
from converter.caffe.reference import run_reference
from converter.caffe.select import select_layers
from converter.caffe.synthetic import calibration_cost, calibration_net, synthetic_blobs, with_image_info
from converter.caffe.upgrade import upgrade_net
from converter.errors import ConverterError
from converter.verify import default_inputs

TRAIN_VAL_SHAPE = (1, 3, 227, 227)  # train_val nets take their shape from --input-shape
MAX_SWEEP_MACS = 2e9


def _load(prototxt: Path):  # noqa: ANN202 - a CaffeNet or None
    """The net as make-weights builds it, or None when the converter does not load the file. A net
    costing over MAX_SWEEP_MACS a forward pass is taken at a half, quarter or eighth of its image size
    where it accepts one (the weights do not depend on it; the depth, which makes activations grow,
    stays), to keep the sweep quick."""
    proto = upgrade_net(parse_prototxt(prototxt))
    try:
        net = calibration_net(proto)
    except ConverterError as error:
        if "has no shape" not in str(error):
            return None
        try:
            shapeless = select_layers(proto)[0]  # the inputs, shapes unknown
            net = calibration_net(proto, {name: TRAIN_VAL_SHAPE for name in shapeless})
        except ConverterError:
            return None
    for _ in range(3):  # halve the image while it costs too much and the net still builds
        if calibration_cost(net)[0] <= MAX_SWEEP_MACS or not all(len(s) == 4 for s in net.inputs.values()):
            break
        smaller = {name: (1, s[1], max(1, s[2] // 2), max(1, s[3] // 2)) for name, s in net.inputs.items()}
        try:
            net = calibration_net(proto, smaller)
        except ConverterError:
            break
    return net


def _prototxts() -> list[Path]:
    return sorted([*SHARED.glob("reference_models/**/*.prototxt"), *SHARED.glob("wild/**/*.prototxt")])


def _loadable() -> list[Path]:
    found = []
    for path in _prototxts():
        try:
            if _load(path) is not None:
                found.append(path)
        except ConverterError:
            pass
    return found


LOADABLE = _loadable()


def test_the_sweep_covers_the_models_the_converter_loads():
    shared_path("reference_models")
    names = {str(p.relative_to(SHARED)) for p in LOADABLE}
    assert {"wild/resnet152/deploy.prototxt", "reference_models/bvlc/bvlc_googlenet/deploy.prototxt",
            "reference_models/mobilenet_caffe/mobilenet_v2_deploy.prototxt",
            "reference_models/deepscale_squeezenet_v1.1/train_val.prototxt"} <= names


def _not_one_hot(probabilities: np.ndarray, axis: int) -> bool:
    """At least half the distributions along `axis` have no class above 0.99."""
    largest = probabilities.max(axis=axis)
    return float(np.mean(largest < 0.99)) >= 0.5


# ResNet-152, the deepest, is checked whole and across runtimes by its own test below (which asserts
# what this one does too): running both would cost twice.
SWEPT = [p for p in LOADABLE if p.relative_to(SHARED).as_posix() != "wild/resnet152/deploy.prototxt"]


@pytest.mark.parametrize("prototxt", SWEPT, ids=[str(p.relative_to(SHARED)) for p in SWEPT])
def test_activations_stay_of_order_one(prototxt):
    net = _load(prototxt)
    weights = synthetic_blobs(net, seed=0)
    for layer in net.layers:
        layer.blobs = weights.get(layer.name, [])
    blobs = run_reference(net, with_image_info(net, default_inputs(net, seed=1)))  # not the calibration input
    masks = {(layer.name, layer.tops[1]) for layer in net.layers if layer.type == "Pooling" and len(layer.tops) > 1}
    worst = {key: float(np.abs(value).max()) if value.size else 0.0 for key, value in blobs.items()
             if key not in masks}  # a MAX Pooling's argmax mask holds cell indices, not activations
    blown = {f"{layer}|{top}": v for (layer, top), v in worst.items() if not v < 1e3}
    assert not blown, blown  # ResNet-152's logits (fc1000) included: 1.6e13 with fan-in scaling alone
    for layer in net.layers:
        if layer.type == "Softmax":
            axis = layer.param.softmax_param.axis % len(layer.top_shapes[0])
            value = blobs[(layer.name, layer.tops[0])]
            assert _not_one_hot(value, axis), f"{layer.name}: one-hot softmax output"


def test_weights_are_deterministic_for_a_seed():
    net = _load(shared_path("reference_models", "mobilenet_caffe", "mobilenet_deploy.prototxt"))
    first, again, other = (synthetic_blobs(net, seed=s) for s in (5, 5, 6))
    assert all(np.array_equal(a, b) for name in first for a, b in zip(first[name], again[name], strict=True))
    assert not np.array_equal(first["conv1"][0], other["conv1"][0])


def test_resnet152_runtimes_agree_at_the_default_tolerance(tmp_path) -> None:
    """ResNet-152 whole with make-weights' weights: ONNX Runtime, PyTorch and OpenCV's importer agree on
    the logits at the default tolerance, every blob stays below 1e3 and the softmax is not one-hot.
    Before residual branches were scaled down, the demo net amplified float32 rounding about
    4500-fold (a 1e-6 perturbation after pool1 moved the logits by 4.5e-3, in float64): every two of
    these runs differed by 2e-4 to 3e-4. At 195x195, the smallest input its 7x7 pooling allows."""
    import cv2
    import onnxruntime as ort

    from converter import pipeline
    from converter.backends import _test_phase_definition, torch_backend
    from converter.caffe.synthetic import write_synthetic_weights
    from converter.defaults import DEFAULT_TOLERANCE
    from converter.emit.onnx import emit_onnx

    prototxt, weights = shared_path("wild", "resnet152", "deploy.prototxt"), tmp_path / "resnet152.caffemodel"
    shape = WILD_MODELS["resnet152"]
    write_synthetic_weights(prototxt, weights, seed=3, input_shapes={"data": shape})
    conversion = pipeline.convert(prototxt, weights, input_shapes={"data": shape})
    x = np.random.default_rng(5).uniform(-1, 1, shape).astype(np.float32)  # not the calibration input
    with _test_phase_definition(conversion.net, for_opencv=True) as definition:
        net = cv2.dnn.readNetFromCaffe(str(definition), str(weights))
    net.enableWinograd(False)  # as verify --backend opencv does
    net.setInput(x)
    opencv, opencv_prob = net.forward(["fc1000", "prob"])
    model = emit_onnx(conversion.graph, extra_outputs=["fc1000"])
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (onnx_logits,) = session.run(["fc1000"], {"data": x})
    blobs = torch_backend()(conversion.graph, {"data": x})  # every blob, through forward hooks
    assert len(blobs) > 300 and max(float(np.abs(v).max()) for v in blobs.values()) < 1e3
    assert float(opencv_prob.max()) < 0.99
    torch_logits = blobs["fc1000"].reshape(opencv.shape)
    assert float(np.abs(opencv).max()) > 1.0  # logits of order one: the comparisons' scale is theirs
    for what, actual, expected in [("onnxruntime vs opencv", onnx_logits, opencv),
                                   ("pytorch vs opencv", torch_logits, opencv),
                                   ("onnxruntime vs pytorch", onnx_logits, torch_logits)]:
        err = float(np.abs(actual.reshape(expected.shape).astype(np.float64) - expected).max())
        assert err <= DEFAULT_TOLERANCE * max(1.0, float(np.abs(expected).max())), f"{what}: {err:.3g}"


def test_residual_branches_are_found_and_scaled_to_a_quarter_of_their_shortcut() -> None:
    """ResNet-152's 50 Eltwise sums (shortcut: the block input, or the projection branch1 in each
    stage's first block) and SE-ResNet-50's 16 Axpy (a * x + y; the SE block's first convolution
    reads x too and is compensated); on the calibration input, each SE branch's standard deviation
    is a quarter of its shortcut's where they are summed (factors rounded to three digits)."""
    from converter.caffe.reference import run_reference
    from converter.caffe.synthetic import RESIDUAL_RATIO, calibration_inputs, residual_branches

    resnet = _load(shared_path("wild", "resnet152", "deploy.prototxt"))
    sums = residual_branches(resnet)
    assert len(sums) == 50
    for index, (shortcut, branches) in sums.items():
        layer = resnet.layers[index]
        block_input = "branch" not in layer.bottoms[shortcut]  # the previous block's output
        assert layer.type == "Eltwise" and (block_input or layer.bottoms[shortcut] == f"{layer.name}_branch1")
        assert [resnet.layers[b.target].name for b in branches.values()] == [f"scale{layer.name[3:]}_branch2c"]
    se_proto = upgrade_net(parse_prototxt(shared_path("wild", "se_resnet50", "deploy.prototxt")))
    assert len(residual_branches(calibration_net(se_proto, {"data": (1, 3, 195, 195)}))) == 16
    # Its first two stages (seven SE blocks) at 64x64, calibrated.
    del se_proto.layer[[layer.name for layer in se_proto.layer].index("conv3_4/relu") + 1 :]
    se = calibration_net(se_proto, {"data": (1, 3, 64, 64)})
    axpys = residual_branches(se)
    assert len(axpys) == 7
    for index, (shortcut, branches) in axpys.items():
        name = se.layers[index].name
        scaled = [(se.layers[b.target].name, [se.layers[c].name for c in b.compensated]) for b in branches.values()]
        assert shortcut == 2 and scaled == [(f"{name}_1x1_increase/bn/scale", [f"{name}_1x1_down"])]
    weights = synthetic_blobs(se, seed=0)
    for layer in se.layers:
        layer.blobs = weights.get(layer.name, [])
    blobs = run_reference(se, calibration_inputs(se, seed=0))
    written = {}
    for layer in se.layers:
        written.update((top, blobs[(layer.name, top)]) for top in layer.tops)
        if se.layers.index(layer) in axpys:
            x, y = written[layer.bottoms[1]], written[layer.bottoms[2]]
            assert float(np.std(x)) == pytest.approx(RESIDUAL_RATIO * float(np.std(y)), rel=0.01), layer.name
