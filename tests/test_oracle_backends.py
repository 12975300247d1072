"""The optional oracles of `verify --backend`: OpenCV's Caffe importer and pycaffe.

pycaffe (BVLC Caffe) does not build here, so its test stands a replay in for it: a `caffe` module
whose Net hands back the blobs real Caffe recorded in ../shared/golden, after checking it was given
the recorded input. What is tested is everything on our side of pycaffe's API.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from conftest import ROOT, golden_case

REPLAY = '''
import json
import numpy as np

TEST = 1
_CASE = {case!r}
_SPOIL = {spoil!r}


def set_mode_cpu():
    pass


class _Blob:
    def __init__(self, shape):
        self.data = np.zeros(shape, np.float32)

    def reshape(self, *shape):
        self.data = np.zeros(shape, np.float32)


class Net:
    def __init__(self, prototxt, weights, phase):
        assert phase == TEST and prototxt.endswith(".prototxt") and weights.endswith(".caffemodel")
        case = json.load(open(_CASE + "/case.json"))
        self._recorded = np.load(_CASE + "/blobs.npz")
        self._writers = {{}}
        for layer in case["layers"]:
            for top in layer["tops"]:
                self._writers[top] = layer["name"]
        self.blobs = {{case["input_name"]: _Blob(case["input_shape"])}}
        self._input = case["input_name"]

    def forward(self):
        given = self.blobs[self._input].data
        assert np.array_equal(given, self._recorded["input|" + self._input]), "not the recorded input"
        for top, layer in self._writers.items():
            key = "layer|" + layer + "|" + top
            if key in self._recorded.files:
                value = self._recorded[key].copy()
                if top == _SPOIL:
                    value.flat[0] += 1.0
                self.blobs[top] = _Blob(value.shape)
                self.blobs[top].data = value
'''


def _install_replay(tmp_path, monkeypatch, case_name: str, spoil: str = "") -> None:
    package = tmp_path / "caffe"
    package.mkdir()
    case_dir = str(golden_case(case_name)["blobs_path"].parent)
    (package / "__init__.py").write_text(textwrap.dedent(REPLAY.format(case=case_dir, spoil=spoil)))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "caffe", raising=False)


def _verify(case_name: str, backend: str, expect: bool = False):
    from converter import pipeline

    case = golden_case(case_name)
    shape = {case["input_name"]: tuple(case["input_shape"])}
    conversion = pipeline.convert(case["prototxt_path"], case["weights_path"], input_shapes=shape)
    if expect:
        return pipeline.run_verification(conversion, backends=(backend,), expect=case["blobs_path"])
    import numpy as np

    recorded = np.load(case["blobs_path"])
    inputs = {case["input_name"]: recorded[f"input|{case['input_name']}"]}
    return pipeline.run_verification(conversion, backends=(backend,), inputs=inputs)


def test_pycaffe_blobs_are_compared_with_every_surviving_tensor(tmp_path, monkeypatch):
    _install_replay(tmp_path, monkeypatch, "squeezenet_v1.1")
    report = _verify("squeezenet_v1.1", "pycaffe")
    rows = [c for c in report.comparisons if c.backend == "pycaffe"]
    assert report.passed, report.first_failure
    # The last value of each blob: after the in-place ReLU of conv1, after Dropout of fire9/concat.
    assert {c.blob for c in rows} >= {"relu_conv1|conv1", "pool1|pool1", "fire2/concat|fire2/concat",
                                      "drop9|fire9/concat", "pool10|pool10", "prob|prob"}
    assert len(rows) >= 15


def test_pycaffe_disagreement_fails_naming_the_layer(tmp_path, monkeypatch):
    _install_replay(tmp_path, monkeypatch, "squeezenet_v1.1", spoil="fire5/concat")
    report = _verify("squeezenet_v1.1", "pycaffe")
    assert not report.passed
    first = report.first_failure
    assert (first.backend, first.blob) == ("pycaffe", "fire5/concat|fire5/concat")


def test_pycaffe_missing_is_a_clear_error(monkeypatch):
    from converter.errors import ConverterError

    monkeypatch.setitem(sys.modules, "caffe", None)
    with pytest.raises(ConverterError, match="pycaffe"):
        _verify("squeezenet_v1.1", "pycaffe")


@pytest.mark.parametrize("case_name", ["squeezenet_v1.0", "mobilenet_v1"])
def test_opencv_outputs_agree_with_caffe_and_with_the_reference(case_name):
    for expect in (True, False):
        report = _verify(case_name, "opencv", expect=expect)
        rows = [c for c in report.comparisons if c.backend == "opencv"]
        assert rows and report.passed, report.first_failure
        assert {c.truth for c in rows} == {"caffe" if expect else "reference"}


def test_cli_verify_with_the_opencv_backend_writes_a_passing_report(tmp_path):
    case = golden_case("squeezenet_v1.1")
    report = tmp_path / "report.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "verify", str(case["prototxt_path"]), "-w", str(case["weights_path"]),
         "--expect", str(case["blobs_path"]), "--backend", "opencv", "--backend", "onnxruntime",
         "--report", str(report)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    rows = json.loads(report.read_text())["comparisons"]
    assert {r["backend"] for r in rows} == {"reference", "opencv", "onnxruntime"}



def test_opencv_checks_tops_not_named_after_their_layer(tmp_path):
    # OpenCV finds outputs by layer name: a Pooling's mask top (and any top named otherwise than its
    # layer) is taken from the layer's outputs. OpenCV's mask follows Caffe's (h * W + w, first of
    # equal maxima), so the two must agree exactly.
    from converter.caffe.synthetic import write_synthetic_weights

    prototxt = tmp_path / "masks.prototxt"
    prototxt.write_text('input: "data" input_shape { dim: 2 dim: 3 dim: 7 dim: 7 }\n'
                        'layer { name: "pool" type: "Pooling" bottom: "data" top: "pooled" top: "mask" '
                        "pooling_param { pool: MAX kernel_size: 3 stride: 2 pad: 1 } }\n")
    write_synthetic_weights(prototxt, tmp_path / "masks.caffemodel")
    report = tmp_path / "report.json"
    done = subprocess.run([sys.executable, str(ROOT / "cli.py"), "verify", str(prototxt), "-w",
                           str(tmp_path / "masks.caffemodel"), "--backend", "opencv", "--report", str(report)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    rows = json.loads(report.read_text())["comparisons"]
    assert {(r["blob"], r["backend"], r["ok"]) for r in rows} == {("pool|pooled", "opencv", True),
                                                                  ("pool|mask", "opencv", True)}


def test_opencv_is_not_offered_a_batchnorm_with_batch_statistics(tmp_path):
    # OpenCV ignores a layer's own phase: it would normalise with the stored statistics, and the
    # mismatch would be blamed on the conversion. It is refused instead, naming the layer.
    from converter.caffe.synthetic import write_synthetic_weights

    prototxt = tmp_path / "bn.prototxt"
    prototxt.write_text('input: "data" input_shape { dim: 1 dim: 2 dim: 3 dim: 3 }\n'
                        'layer { name: "conv" type: "Convolution" bottom: "data" top: "conv" '
                        'convolution_param { num_output: 2 kernel_size: 1 } }\n'
                        'layer { name: "bn" type: "BatchNorm" bottom: "conv" top: "conv" phase: TRAIN }\n')
    write_synthetic_weights(prototxt, tmp_path / "bn.caffemodel")
    done = subprocess.run([sys.executable, str(ROOT / "cli.py"), "verify", str(prototxt), "-w",
                           str(tmp_path / "bn.caffemodel"), "--backend", "opencv"], capture_output=True, text=True)
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
    from converter.caffe.synthetic import write_synthetic_weights
    from converter.errors import ConverterError

    prototxt = tmp_path / "dw.prototxt"
    prototxt.write_text('input: "data" input_shape { dim: 1 dim: 4 dim: 1 dim: 5 }\n'
                        f'layer {{ name: "dw" {layer} bottom: "data" top: "dw" }}\n')
    write_synthetic_weights(prototxt, tmp_path / "dw.caffemodel")
    conversion = pipeline.convert(prototxt, tmp_path / "dw.caffemodel")
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
    how many blobs Caffe recorded and how many only the reference executor vouches for."""
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
