"""CI on committed artifacts: `verify --onnx model.onnx --pytorch model.py` checks models converted
earlier (and perhaps edited since) against Caffe without converting again; `--junit` writes a
report CI systems display, `--html` a page with the plots (tested in a real headless browser); the
JSON report names the versions that verified."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from xml.etree import ElementTree

import numpy as np
import onnx
import pytest
from click.testing import CliRunner
from onnx import numpy_helper

import cli
from converter import pipeline


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """The tiny net (conftest.TINY_NET) with demo weights, converted once: tiny.onnx, tiny.py, tiny.pth."""
    from conftest import TINY_NET
    from converter.caffe.synthetic import write_synthetic_weights

    folder = tmp_path_factory.mktemp("artifacts")
    prototxt = folder / "tiny.prototxt"
    prototxt.write_text(TINY_NET)
    write_synthetic_weights(prototxt, folder / "tiny.caffemodel")
    conversion = pipeline.convert(prototxt, folder / "tiny.caffemodel")
    pipeline.emit(conversion)
    pipeline.save(conversion, folder, "tiny")
    return folder


def _verify(folder, *extra):
    return CliRunner().invoke(cli.main, ["verify", str(folder / "tiny.prototxt"), "-w", str(folder / "tiny.caffemodel"),
                                         *map(str, extra)])


def test_committed_artifacts_pass_with_a_junit_report_and_versions(converted, tmp_path):
    junit, report = tmp_path / "verify.xml", tmp_path / "report.json"
    done = _verify(converted, "--onnx", converted / "tiny.onnx", "--pytorch", converted / "tiny.py",
                   "--junit", junit, "--report", report)
    assert done.exit_code == 0, done.output
    document = json.loads(report.read_text())
    assert str(converted / "tiny.onnx") in document["runs"]["onnxruntime"]
    assert str(converted / "tiny.py") in document["runs"]["pytorch"]
    import onnxruntime
    import torch

    assert document["versions"]["onnxruntime"] == onnxruntime.__version__
    assert document["versions"]["torch"] == torch.__version__.split("+")[0] or \
        document["versions"]["torch"] == torch.__version__
    assert document["versions"]["numpy"] == np.__version__ and document["versions"]["squeeze-convert"]
    # JUnit: testsuites/testsuite/testcase, one testcase per blob per run, no failure.
    (suite,) = ElementTree.parse(junit).getroot().iter("testsuite")
    cases = {(case.get("classname").rsplit(".", 1)[1], case.get("name")) for case in suite.iter("testcase")}
    assert cases == {(run, blob) for run in ("onnxruntime", "pytorch") for blob in ("c1|c1", "r|c1", "c2|c2")}
    assert suite.get("tests") == "6" and suite.get("failures") == "0" and not list(suite.iter("failure"))


def _one_weight_changed(source, target):
    """A copy of the ONNX model with the first value of layer c2's weight changed by 0.5."""
    model = onnx.load(source)
    (weight,) = [t for t in model.graph.initializer if t.name == "c2.weight"]
    values = numpy_helper.to_array(weight).copy()
    values.flat[0] += 0.5
    weight.CopyFrom(numpy_helper.from_array(values, weight.name))
    onnx.save(model, target)
    return target


def test_one_weight_changed_in_the_onnx_file_fails_naming_the_layer(converted, tmp_path):
    edited = _one_weight_changed(converted / "tiny.onnx", tmp_path / "edited.onnx")
    junit = tmp_path / "verify.xml"
    done = _verify(converted, "--onnx", edited, "--backend", "onnxruntime", "--junit", junit)
    assert done.exit_code == 1, done.output
    assert "first diverging layer 'c2'" in done.output
    cases = ElementTree.parse(junit).getroot().iter("testcase")
    failures = [case for case in cases if case.find("failure") is not None]
    assert [case.get("name") for case in failures] == ["c2|c2"]
    assert "layer c2" in failures[0].find("failure").text


def _chromium(*arguments: str, profile) -> subprocess.CompletedProcess:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.fail("the HTML report is tested in a real browser: install Debian's chromium (apt-get install chromium)")
    return subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                           "--disable-component-update", "--disable-sync", "--no-first-run",
                           f"--user-data-dir={profile}", *arguments], capture_output=True, text=True, timeout=120)


def test_the_html_report_opens_in_a_browser_with_its_plot(converted, tmp_path):
    from PIL import Image

    edited = _one_weight_changed(converted / "tiny.onnx", tmp_path / "edited.onnx")
    page = tmp_path / "report.html"
    done = _verify(converted, "--onnx", edited, "--html", page)
    assert done.exit_code == 1, done.output
    text = page.read_text()
    assert "<script" not in text and "http" not in text.split("<svg", 1)[0]  # self-contained
    dom = _chromium("--dump-dom", page.as_uri(), profile=tmp_path / "profile")
    assert dom.returncode == 0, dom.stderr
    assert 'id="verdict" class="failed"' in dom.stdout and "first diverging layer c2" in dom.stdout
    plot = dom.stdout.split('<figure id="plot">', 1)[1].split("</figure>", 1)[0]
    assert "<svg" in plot and "first diverging layer: c2" in plot and "tolerance 0.0001" in plot
    assert "onnxruntime" in plot and "pytorch" in plot  # one plot per run
    shot = tmp_path / "shot.png"
    done = _chromium(f"--screenshot={shot}", "--window-size=1000,900", page.as_uri(), profile=tmp_path / "profile")
    assert shot.exists(), done.stderr
    pixels = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    # The first diverging layer's red line (#a11a1a) is drawn.
    assert (np.abs(pixels - [0xA1, 0x1A, 0x1A]).sum(axis=2) < 60).sum() > 50


def test_a_terminal_shows_a_progress_bar_per_run(converted, monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    conversion = pipeline.convert(converted / "tiny.prototxt", converted / "tiny.caffemodel")
    assert pipeline.run_verification(conversion).passed
    shown = terminal.getvalue()
    assert all(f"verify: {run}" in shown for run in ("reference", "onnxruntime", "pytorch")), shown
