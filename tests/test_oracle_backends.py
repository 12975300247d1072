"""The optional oracles of `verify --backend`: OpenCV's Caffe importer and pycaffe.

pycaffe (BVLC Caffe) does not build here, so its tests stand tests/fake_pycaffe.py in for it: a
`caffe` package registering a BVLC-generated caffe_pb2 in protobuf's default pool, whose Net replays
the blobs real Caffe recorded in ../shared/golden and can abort like a failed CHECK.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT, golden_case, run_cli_in_process, with_demo_weights


def _verify(case_name: str, backend: str, expect: bool = False):
    from converter import pipeline

    case = golden_case(case_name)
    shape = {case["input_name"]: tuple(case["input_shape"])}
    conversion = pipeline.convert(case["prototxt_path"], case["weights_path"], input_shapes=shape)
    if expect:
        return pipeline.run_verification(conversion, backends=(backend,), expect=case["blobs_path"])

    recorded = np.load(case["blobs_path"])
    inputs = {case["input_name"]: recorded[f"input|{case['input_name']}"]}
    return pipeline.run_verification(conversion, backends=(backend,), inputs=inputs)


@pytest.fixture(scope="module")
def fake_pycaffe(tmp_path_factory):
    """Installs the fake pycaffe (tests/fake_pycaffe.py) once; returns a function giving the
    environment for one of its modes, replaying golden squeezenet_v1.1."""
    import fake_pycaffe as fake

    folder = tmp_path_factory.mktemp("pycaffe")
    env = fake.install(folder, golden_case("squeezenet_v1.1")["blobs_path"].parent)
    return lambda mode="replay": {**env, "FAKE_PYCAFFE_MODE": mode}


def test_pycaffe_compares_every_caffe_blob_fire_internals_included(fake_pycaffe, monkeypatch):
    # The fake registers a BVLC-generated caffe_pb2 (package "caffe") in protobuf's default pool, as
    # pycaffe does; it runs in a child process, beside the converter's own schema.
    for key, value in fake_pycaffe().items():
        monkeypatch.setenv(key, value)
    case = golden_case("squeezenet_v1.1")
    report = _verify("squeezenet_v1.1", "pycaffe", expect=True)
    assert report.passed, report.first_failure
    compared = {c.blob for c in report.comparisons if c.backend == "pycaffe"}
    recorded = {f"{layer}|{top}" for layer, top in
                (key.split("|")[1:] for key in np.load(case["blobs_path"]).files if key.startswith("layer|"))}
    # Every blob --expect compares, Fire internals and the convolution's output before its in-place ReLU included.
    assert compared == recorded
    assert {"fire2/squeeze1x1|fire2/squeeze1x1", "fire2/expand3x3|fire2/expand3x3", "conv1|conv1",
            "relu_conv1|conv1"} <= compared


def test_pycaffe_disagreement_inside_a_fire_fails_naming_the_layer(fake_pycaffe, monkeypatch):
    for key, value in fake_pycaffe("spoil:fire5/squeeze1x1").items():
        monkeypatch.setenv(key, value)
    report = _verify("squeezenet_v1.1", "pycaffe", expect=True)
    first = report.first_failure
    assert (first.backend, first.blob) == ("pycaffe", "fire5/squeeze1x1|fire5/squeeze1x1")


def test_a_caffe_abort_while_loading_is_a_named_error_exit_2(fake_pycaffe):
    case = golden_case("squeezenet_v1.1")
    done = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "verify", str(case["prototxt_path"]), "-w", str(case["weights_path"]),
         "--expect", str(case["blobs_path"]), "--backend", "pycaffe"],
        capture_output=True, text=True, env={**os.environ, **fake_pycaffe("abort-load")})
    assert done.returncode == 2, done.stderr
    assert "refuses this net: it aborted by SIGABRT while loading it: F1205" in done.stderr
    assert "Check failed: data_" in done.stderr and "Traceback" not in done.stderr  # Caffe's own last words


@pytest.mark.parametrize("mode,status,said", [
    ("abort-forward", 1, "aborted by SIGABRT while running the net, which the converter runs: F1205"),
    ("missing-module", 2, "cannot import BVLC Caffe's Python module"),
])
def test_pycaffe_failures_are_named_errors(fake_pycaffe, monkeypatch, mode, status, said):
    from converter.errors import ConverterError

    for key, value in fake_pycaffe(mode).items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConverterError) as raised:
        _verify("squeezenet_v1.1", "pycaffe", expect=True)
    assert raised.value.exit_code == status and said in str(raised.value)
    if mode == "missing-module":
        assert re.search("ModuleNotFoundError: No module named '(six|skimage)'", str(raised.value))  # the real cause


def test_pycaffe_missing_is_a_clear_error(monkeypatch):
    from converter.errors import ConverterError

    monkeypatch.setenv("PYTHONPATH", "")
    with pytest.raises(ConverterError, match="cannot import BVLC Caffe's Python module.*No module named 'caffe'"):
        _verify("squeezenet_v1.1", "pycaffe")


@pytest.mark.parametrize("case_name", ["squeezenet_v1.0", "mobilenet_v1"])
def test_opencv_outputs_agree_with_caffe_and_with_the_reference(case_name):
    for expect in (True, False):
        report = _verify(case_name, "opencv", expect=expect)
        rows = [c for c in report.comparisons if c.backend == "opencv"]
        assert rows and report.passed, report.first_failure
        assert {c.truth for c in rows} == {"caffe" if expect else "reference"}


def test_opencv_compares_the_input_of_the_final_softmax_too():
    # Probabilities near one-hot agree whatever the logits were: the Softmax's input is compared too.
    report = _verify("squeezenet_v1.1", "opencv", expect=True)
    rows = {c.blob: c for c in report.comparisons if c.backend == "opencv"}
    assert set(rows) == {"pool10|pool10", "prob|prob"} and report.passed
    assert rows["pool10|pool10"].truth == "caffe" and rows["pool10|pool10"].tolerance == report.tolerance


def test_opencv_skips_an_input_left_over_as_an_output():
    # SRCNN's deploy file keeps a EuclideanLoss reading a `label` input: with the loss dropped, `label`
    # is a network output no layer makes, and there is nothing for OpenCV to compute for it.
    from converter import pipeline

    case = golden_case("wild_srcnn")
    conversion = pipeline.convert(case["prototxt_path"], case["weights_path"])
    report = pipeline.run_verification(conversion, backends=("opencv",), expect=case["blobs_path"])
    assert report.passed and {c.blob for c in report.comparisons if c.backend == "opencv"} == {"conv3|conv3"}


def test_cli_verify_with_the_opencv_backend_writes_a_passing_report(tmp_path):
    case = golden_case("squeezenet_v1.1")
    report = tmp_path / "report.json"
    done = run_cli_in_process("verify", case["prototxt_path"], "-w", case["weights_path"], "--expect",
                              case["blobs_path"], "--backend", "opencv", "--backend", "onnxruntime", "--report", report)
    assert done.returncode == 0, done.stderr
    rows = json.loads(report.read_text())["comparisons"]
    assert {r["backend"] for r in rows} == {"reference", "opencv", "onnxruntime"}



def test_opencv_checks_tops_not_named_after_their_layer(tmp_path):
    # OpenCV finds outputs by layer name: a Pooling's mask top (and any top named otherwise than its
    # layer) is taken from the layer's outputs. OpenCV's mask follows Caffe's (h * W + w, first of
    # equal maxima), so the two must agree exactly.
    prototxt, weights = with_demo_weights(
        tmp_path, "masks", 'input: "data" input_shape { dim: 2 dim: 3 dim: 7 dim: 7 }\n'
        'layer { name: "pool" type: "Pooling" bottom: "data" top: "pooled" top: "mask" '
        "pooling_param { pool: MAX kernel_size: 3 stride: 2 pad: 1 } }\n")
    report = tmp_path / "report.json"
    done = run_cli_in_process("verify", prototxt, "-w", weights, "--backend", "opencv",
                              "--report", report)
    assert done.returncode == 0, done.stderr
    rows = json.loads(report.read_text())["comparisons"]
    assert {(r["blob"], r["backend"], r["ok"]) for r in rows} == {("pool|pooled", "opencv", True),
                                                                  ("pool|mask", "opencv", True)}


def test_opencv_is_not_offered_a_batchnorm_with_batch_statistics(tmp_path):
    # OpenCV ignores a layer's own phase: it would normalise with the stored statistics, and the
    # mismatch would be blamed on the conversion. It is refused instead, naming the layer.
    prototxt, weights = with_demo_weights(
        tmp_path, "bn", 'input: "data" input_shape { dim: 1 dim: 2 dim: 3 dim: 3 }\n'
        'layer { name: "conv" type: "Convolution" bottom: "data" top: "conv" '
        'convolution_param { num_output: 2 kernel_size: 1 } }\n'
        'layer { name: "bn" type: "BatchNorm" bottom: "conv" top: "conv" phase: TRAIN }\n')
    done = run_cli_in_process("verify", prototxt, "-w", weights, "--backend", "opencv")
    assert done.returncode == 2, done.stderr
    assert "does not follow Caffe's BatchNorm with batch statistics (layer 'bn')" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("layer", ['type: "ConvolutionDepthwise" convolution_param { num_output: 4 kernel_size: 3 '
                                   'pad: 1 }',
                                   'type: "Convolution" convolution_param { num_output: 4 group: 4 kernel_size: 3 '
                                   'pad: 1 }'])
def test_opencv_is_not_offered_a_padded_depthwise_convolution_on_a_thin_map(tmp_path, layer):
    # OpenCV 4.14 gets it wrong (tests/caffe_layers/test_convolution_depthwise.py shows how): the
    # mismatch would be blamed on the conversion. Refused instead, naming the layer.
    from converter import pipeline
    from converter.errors import ConverterError

    prototxt, weights = with_demo_weights(
        tmp_path, "dw", 'input: "data" input_shape { dim: 1 dim: 4 dim: 1 dim: 5 }\n'
        f'layer {{ name: "dw" {layer} bottom: "data" top: "dw" }}\n')
    conversion = pipeline.convert(prototxt, weights)
    with pytest.raises(ConverterError, match="depthwise convolution on a map one row or column high wrongly "
                                             r"\(layer 'dw'\)"):
        pipeline.run_verification(conversion, backends=("opencv",))


def test_the_cli_offers_every_backend():
    import click

    import cli
    from converter.backends import BACKENDS

    (option,) = [p for p in cli.verify_command.params if p.name == "backends"]
    assert isinstance(option.type, click.Choice) and list(option.type.choices) == list(BACKENDS)


def test_verify_report_on_stdout_is_pure_json_and_the_summary_counts_truths(tmp_path):
    """`--report -` is for piping: stdout holds the JSON alone; the summary goes to stderr and says
    how many blobs Caffe recorded and how many only the reference executor vouches for. A real
    process: whatever any library writes to file descriptor 1 would be in the pipe too."""
    case = golden_case("squeezenet_v1.0")  # Caffe recorded a selection of its blobs
    done = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "verify", str(case["prototxt_path"]), "-w", str(case["weights_path"]),
         "--expect", str(case["blobs_path"]), "--report", "-"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    recorded = {c["blob"] for c in report["comparisons"] if c["truth"] == "caffe"}
    others = {c["blob"] for c in report["comparisons"] if c["truth"] == "reference"}
    assert recorded and others
    assert (f"against Caffe's recorded blobs ({len(recorded)}) and the reference executor ({len(others)})"
            in done.stderr)


def test_opencv_failing_on_a_fork_field_says_what_and_where(tmp_path):
    # OpenCV 4.14 reads ENet's bn_param (a field its caffe.proto lacks; here its scale_filler) as a
    # custom layer's parameters and stops in a CV_Check whose last line alone was the message:
    # ">     '2' is 2".
    from converter import pipeline
    from converter.errors import ConverterError

    prototxt, weights = with_demo_weights(
        tmp_path, "bn", 'input: "data" input_shape { dim: 1 dim: 2 dim: 3 dim: 3 }\n'
        'layer { name: "bn" type: "BN" bottom: "data" top: "bn" '
        'bn_param { scale_filler { type: "constant" value: 1 } bn_mode: INFERENCE } }\n')
    conversion = pipeline.convert(prototxt, weights)
    with pytest.raises(ConverterError) as raised:
        pipeline.run_verification(conversion, backends=("opencv",))
    message = str(raised.value)
    assert message.startswith("OpenCV's Caffe importer cannot run this net: in function ")
    assert "extractCustomParams" in message and "UnknownField should have at least 2 items" in message
    assert "such as a fork layer's parameters" in message and "\n" not in message
