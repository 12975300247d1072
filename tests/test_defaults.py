"""Defaults the command line and the library share come from one place (converter/defaults.py),
which the command line reads without loading the heavy libraries."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT


def test_cli_reads_the_defaults_without_heavy_imports():
    script = ("import sys, cli\n"
              "heavy = [m for m in ('numpy', 'onnx', 'onnxruntime', 'torch', 'cv2') if m in sys.modules]\n"
              "print(heavy)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_cli_options_show_the_shared_defaults():
    import click

    import cli
    from converter import defaults

    options = {p.name: p for p in cli.convert.params}
    opset = options["opset"]
    assert opset.default == defaults.DEFAULT_OPSET
    assert isinstance(opset.type, click.IntRange)
    assert (opset.type.min, opset.type.max) == (defaults.SUPPORTED_OPSETS[0], defaults.SUPPORTED_OPSETS[-1])
    assert options["tolerance"].default == defaults.DEFAULT_TOLERANCE
    # classify's mean: --mean, else the data layers' transform_param, else the shared ImageNet mean.
    assert {p.name: p for p in cli.classify_command.params}["mean"].default is None
    assert cli.CLASSIFY_FALLBACK_MEAN == defaults.IMAGENET_MEAN_BGR


def test_the_emitter_and_the_library_agree_with_the_shared_defaults():
    import inspect

    from converter import defaults, demo, pipeline, verify
    from converter.emit import onnx as onnx_emit

    assert onnx_emit.DEFAULT_OPSET == defaults.DEFAULT_OPSET
    assert list(onnx_emit.SUPPORTED_OPSETS) == list(defaults.SUPPORTED_OPSETS)
    assert inspect.signature(pipeline.emit).parameters["opset"].default == defaults.DEFAULT_OPSET
    assert inspect.signature(pipeline.run_verification).parameters["opset"].default == defaults.DEFAULT_OPSET
    assert verify.DEFAULT_TOLERANCE == defaults.DEFAULT_TOLERANCE
    assert inspect.signature(demo.load_image).parameters["mean"].default == defaults.IMAGENET_MEAN_BGR
