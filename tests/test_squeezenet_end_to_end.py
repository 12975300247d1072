"""Issue 2 acceptance: SqueezeNet prototxt + caffemodel -> Fire IR -> ONNX + PyTorch, checked
against what BVLC Caffe computed (../shared/golden), never against this code's own numbers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import ROOT, golden_case, run_cli_in_process

CASES = ["squeezenet_v1.0", "squeezenet_v1.1", "deep_compression_cat"]
PAPER_FIRES = [(16, 64, 64), (16, 64, 64), (32, 128, 128), (32, 128, 128),
               (48, 192, 192), (48, 192, 192), (64, 256, 256), (64, 256, 256)]


def assert_close(actual: np.ndarray, expected: np.ndarray, what: str) -> None:
    """The golden README's rule: max|a-b| <= 1e-4 * max(1, max|b|)."""
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    err = float(np.abs(actual.astype(np.float64) - expected).max())
    bound = 1e-4 * max(1.0, float(np.abs(expected).max()))
    assert err <= bound, f"{what}: max abs err {err:.3g} > {bound:.3g}"


@pytest.fixture(scope="module", params=CASES)
def converted(request, tmp_path_factory):
    from converter import pipeline

    case = golden_case(request.param)
    shape = {case["input_name"]: tuple(case["input_shape"])}
    conversion = pipeline.convert(case["prototxt_path"], case["weights_path"], input_shapes=shape)
    pipeline.emit(conversion)
    out = tmp_path_factory.mktemp(request.param)
    pipeline.save(conversion, out, "model")
    blobs = np.load(case["blobs_path"])
    return case, conversion, out, {k: blobs[k] for k in blobs.files}


def test_eight_fire_nodes_with_the_papers_sizes(converted):
    from converter.ir import Fire

    _, conversion, _, _ = converted
    fires = list(conversion.graph.nodes_of(Fire))
    assert [(f.s1x1, f.e1x1, f.e3x3) for f in fires] == PAPER_FIRES
    assert [f.name for f in fires] == [f"fire{i}" for i in range(2, 10)]


def stored_intermediates(conversion, blobs: dict[str, np.ndarray]) -> dict[str, str]:
    """IR tensor -> the blobs.npz key Caffe stored for it, for every stored layer blob the IR keeps
    (the pre-softmax scores among them: a softmax over near-uniform scores hides errors)."""
    found = {}
    for name, tensor in conversion.graph.tensors.items():
        for layer, top in tensor.sources:
            if f"layer|{layer}|{top}" in blobs:
                found[name] = f"layer|{layer}|{top}"
    (output,) = conversion.graph.outputs
    assert conversion.graph.producer(output).inputs[0] in found, "the output's input is not compared"
    return found


def test_onnx_runtime_matches_caffe(converted):
    import onnx
    import onnxruntime as ort

    from converter.emit.onnx import emit_onnx

    case, conversion, out, blobs = converted
    model = onnx.load(out / "model.onnx")
    onnx.checker.check_model(model, full_check=True)
    session = ort.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"])
    name = case["input_name"]
    feed = {name: blobs[f"input|{name}"]}
    results = session.run(None, feed)
    outputs = {o.name: r for o, r in zip(session.get_outputs(), results, strict=True)}
    for top in case["outputs"]:
        assert_close(outputs[top], blobs[f"output|{top}"], f"ONNX {top}")
    stored = stored_intermediates(conversion, blobs)
    tapped = emit_onnx(conversion.graph, extra_outputs=list(stored)).SerializeToString()
    values = ort.InferenceSession(tapped, providers=["CPUExecutionProvider"]).run(list(stored), feed)
    for tensor, value in zip(stored, values, strict=True):
        assert_close(value, blobs[stored[tensor]], f"ONNX {stored[tensor]}")


def test_pytorch_checkpoint_matches_caffe(converted):
    import torch

    case, conversion, out, blobs = converted
    state = torch.load(out / "model.pth", weights_only=True)
    from converter.emit.torch import load_module

    module = load_module(conversion.torch_export)
    module.load_state_dict(state)
    stored = stored_intermediates(conversion, blobs)
    seen: dict[str, np.ndarray] = {}
    for path, tensors in conversion.torch_export.taps.items():
        def keep(_m, _i, out, tensors=tensors) -> None:
            values = out if isinstance(out, tuple) else (out,)
            seen.update((t, v.detach().numpy().copy()) for t, v in zip(tensors, values, strict=True) if t in stored)

        module.get_submodule(path).register_forward_hook(keep)
    name = case["input_name"]
    with torch.no_grad():
        result = module(torch.from_numpy(blobs[f"input|{name}"]))
    (top,) = case["outputs"]
    assert_close(result.numpy(), blobs[f"output|{top}"], f"PyTorch {top}")
    (output,) = conversion.graph.outputs
    assert conversion.graph.producer(output).inputs[0] in seen
    for tensor, value in seen.items():
        assert_close(value, blobs[stored[tensor]], f"PyTorch {stored[tensor]}")


def test_reference_executor_matches_every_stored_blob(converted):
    from converter.caffe.reference import run_reference

    case, conversion, _, blobs = converted
    name = case["input_name"]
    values = run_reference(conversion.net, {name: blobs[f"input|{name}"]})
    stored = [k for k in blobs if k.startswith("layer|")]
    assert stored
    for key in stored:
        _, layer, top = key.split("|")
        assert_close(values[(layer, top)], blobs[key], key)


def test_verification_report_passes_against_golden(converted):
    from converter import pipeline

    case, conversion, _, blobs = converted
    report = pipeline.run_verification(conversion, expect=case["blobs_path"])
    assert report.passed, report.first_failure
    compared = {c.blob for c in report.comparisons if c.backend == "reference"}
    assert compared == {k.split("|", 1)[1] for k in blobs if k.startswith("layer|")}
    for backend in ("onnxruntime", "pytorch"):
        assert any(c.backend == backend and c.truth == "caffe" for c in report.comparisons)


def test_generated_modules_run_in_a_fresh_interpreter(tmp_path):
    """Each case's written model.py and model.pth, in one interpreter that never imported the
    converter (one for all three cases: starting it and importing torch is most of the cost)."""
    from converter import pipeline

    for name in CASES:
        case = golden_case(name)
        conversion = pipeline.convert(case["prototxt_path"], case["weights_path"],
                                      input_shapes={case["input_name"]: tuple(case["input_shape"])})
        pipeline.emit(conversion, formats=("pytorch",))
        pipeline.save(conversion, tmp_path / name, "model")
        blobs = np.load(case["blobs_path"])
        np.save(tmp_path / name / "x.npy", blobs[f"input|{case['input_name']}"])
        (top,) = case["outputs"]
        np.save(tmp_path / name / "y.npy", blobs[f"output|{top}"])
    script = f"""
import importlib.util, sys, numpy, torch
for name in {CASES!r}:
    folder = {str(tmp_path)!r} + "/" + name
    spec = importlib.util.spec_from_file_location("model_" + name.replace(".", "_"), folder + "/model.py")
    model = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(model)
    net = [v for v in vars(model).values() if isinstance(v, type) and issubclass(v, torch.nn.Module)
           and v.__module__ == model.__name__ and v.__name__ != "Fire"][0]()
    net.load_state_dict(torch.load(folder + "/model.pth", weights_only=True))
    net.eval()
    y = net(torch.from_numpy(numpy.load(folder + "/x.npy"))).detach().numpy()
    ref = numpy.load(folder + "/y.npy")
    err = abs(y - ref).max()
    assert err <= 1e-4 * max(1.0, abs(ref).max()), (name, err)
    print("ok", name)
assert "converter" not in sys.modules
"""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [word for name in CASES for word in ("ok", name)]


def test_other_batch_keeps_each_item_exact():
    """Batch 3 whose first item is the golden input: item 0 must still be Caffe's output."""
    from converter import pipeline

    case = golden_case("squeezenet_v1.1")
    blobs = np.load(case["blobs_path"])
    x0 = blobs["input|data"]
    rng = np.random.default_rng(5)
    batch = np.concatenate([x0, rng.uniform(-1, 1, (2, *x0.shape[1:])).astype(np.float32)])
    conversion = pipeline.convert(case["prototxt_path"], case["weights_path"],
                                  input_shapes={"data": batch.shape})
    pipeline.emit(conversion)
    import onnxruntime as ort

    session = ort.InferenceSession(conversion.onnx_model.SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    (prob,) = session.run(["prob"], {"data": batch})
    assert prob.shape[0] == 3
    assert_close(prob[:1], blobs["output|prob"], "batch item 0")


@pytest.mark.parametrize("case_name", ["squeezenet_v1.0", "squeezenet_v1.1"])
def test_other_input_size_matches_opencv(case_name, tmp_path):
    """At an input size Caffe was not recorded at, OpenCV's Caffe importer is the oracle."""
    from converter import pipeline

    case = golden_case(case_name)
    shape = (2, 3, 195, 250)
    conversion = pipeline.convert(case["prototxt_path"], case["weights_path"], input_shapes={"data": shape})
    pipeline.emit(conversion)
    x = np.random.default_rng(9).uniform(-1, 1, shape).astype(np.float32)
    net = cv2.dnn.readNetFromCaffe(str(case["prototxt_path"]), str(case["weights_path"]))
    net.setInput(x)
    expected = net.forward("prob")
    import onnxruntime as ort

    session = ort.InferenceSession(conversion.onnx_model.SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    (prob,) = session.run(["prob"], {"data": x})
    assert_close(prob.reshape(expected.shape), expected, "ONNX vs OpenCV")


def test_cli_converts_with_input_shape(tmp_path):
    """The written .onnx at 2x3x163x163 computes what OpenCV's Caffe importer does on the same files."""
    import onnx
    import onnxruntime as ort

    case = golden_case("squeezenet_v1.1")
    shape = (2, 3, 163, 163)
    done = run_cli_in_process(case["prototxt_path"], "--weights", case["weights_path"], "--out-dir", tmp_path,
                              "--input-shape", ",".join(map(str, shape)))
    assert done.returncode == 0, done.stderr
    assert {p.suffix for p in tmp_path.iterdir()} == {".onnx", ".pth", ".py", ".json"}
    assert "verified" in done.stdout
    (written,) = tmp_path.glob("*.onnx")
    x = np.random.default_rng(11).uniform(-1, 1, shape).astype(np.float32)
    net = cv2.dnn.readNetFromCaffe(str(case["prototxt_path"]), str(case["weights_path"]))
    net.setInput(x)
    expected = net.forward(["pool10", "prob"])
    model = onnx.load(written)
    # The pre-softmax scores too: the written graph's own tensor, exposed as an extra output.
    model.graph.output.append(onnx.helper.make_tensor_value_info("pool10", onnx.TensorProto.FLOAT, None))
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    assert [tuple(i.shape) for i in session.get_inputs()] == [("N", *shape[1:])]
    for top, actual, wanted in zip(["pool10", "prob"], session.run(["pool10", "prob"], {"data": x}), expected,
                                   strict=True):
        assert_close(actual.reshape(wanted.shape), wanted, f"written ONNX {top} vs OpenCV")


def _tamper(weights: Path, out: Path, layer: str) -> None:
    from converter.caffe import caffe_pb2

    net = caffe_pb2.NetParameter()
    net.ParseFromString(weights.read_bytes())
    target = next(entry for entry in net.layer if entry.name == layer)
    target.blobs[0].data[7] += 0.5
    out.write_bytes(net.SerializeToString())


def test_one_changed_weight_fails_verification_naming_the_layer(tmp_path):
    case = golden_case("squeezenet_v1.1")
    tampered = tmp_path / "tampered.caffemodel"
    _tamper(case["weights_path"], tampered, "fire6/expand3x3")
    report = tmp_path / "report.json"
    done = run_cli_in_process("verify", case["prototxt_path"], "--weights", tampered, "--expect", case["blobs_path"],
                              "--report", report)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "fire6/expand3x3" in done.stderr
    import json

    assert json.loads(report.read_text())["first_diverging_layer"] == "fire6/expand3x3"


def test_untampered_weights_pass_the_cli_parity_check(tmp_path):
    case = golden_case("squeezenet_v1.1")
    done = run_cli_in_process("verify", case["prototxt_path"], "--weights", case["weights_path"], "--expect",
                              case["blobs_path"], "--report", "-")
    assert done.returncode == 0, done.stdout + done.stderr


def test_convert_on_a_mismatch_exits_1_and_writes_only_the_report(tmp_path):
    """README: the default command exits 1 on a verification mismatch and writes no model (a real
    process: its exit status, not CliRunner's)."""
    case = golden_case("squeezenet_v1.1")
    tampered = tmp_path / "tampered.caffemodel"
    _tamper(case["weights_path"], tampered, "fire6/expand3x3")
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), str(case["prototxt_path"]), "--weights", str(tampered),
         "--expect", str(case["blobs_path"]), "--out-dir", str(out)],
        capture_output=True, text=True)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "first diverging layer 'fire6/expand3x3'" in done.stderr
    written = sorted(p.name for p in out.iterdir())
    assert len(written) == 1 and written[0].endswith(".report.json"), written
