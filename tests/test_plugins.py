"""Plugins register layer types as the built-in layers do (README, Plugins): the example plugin
(examples/square_plugin.py) makes a Python layer convert, run and verify; without it the layer is
refused naming its module and class; broken plugins are bad input, not crashes."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import ROOT, caffemodel_blobs

EXAMPLE = ROOT / "examples" / "square_plugin.py"
NET = (ROOT / "examples" / "square.prototxt").read_text()  # the README runs it with the plugin


@pytest.fixture
def registries():
    """Whatever a plugin registers is removed afterwards (the registries are per process)."""
    from converter.caffe.layers import LAYER_TYPES
    from converter.emit.onnx.registry import TABLE as ONNX
    from converter.emit.torch.registry import TABLE as TORCH
    from converter.lift.registry import CONVERTERS
    from converter.plugins import _loaded_files

    ONNX.load()  # the built-in emitters are in the tables before the snapshot, and stay after it
    TORCH.load()
    tables = (LAYER_TYPES, CONVERTERS, ONNX.functions, TORCH.functions, _loaded_files)
    saved = [dict(table) for table in tables]
    yield
    for table, before in zip(tables, saved, strict=True):
        table.clear()
        table.update(before)


def test_python_layer_without_plugin_is_refused_by_module_and_class(tmp_path, registries):
    from converter.caffe.loader import load_net
    from converter.errors import UnsupportedLayersError

    (tmp_path / "net.prototxt").write_text(NET)
    with pytest.raises(UnsupportedLayersError) as error:
        load_net(tmp_path / "net.prototxt")
    assert "Python layer my_layers.Square (python_param module 'my_layers', layer 'Square'): square" in str(error.value)


def test_example_plugin_converts_and_verifies_a_python_layer(tmp_path, registries):
    from converter import pipeline
    from converter.caffe.reference import run_reference
    from converter.caffe.synthetic import write_synthetic_weights
    from converter.plugins import load_plugin

    load_plugin(EXAMPLE)
    prototxt = tmp_path / "net.prototxt"
    prototxt.write_text(NET)
    write_synthetic_weights(prototxt, tmp_path / "net.caffemodel")
    conversion = pipeline.convert(prototxt, tmp_path / "net.caffemodel")
    assert [type(node).__name__ for node in conversion.graph.nodes] == ["Conv", "Square"]
    # The plugin's reference forward is x * x of the convolution's output (checked independently).
    x = np.random.default_rng(0).standard_normal((1, 2, 3, 3)).astype(np.float32)
    weight, bias = caffemodel_blobs(tmp_path / "net.caffemodel")["conv"]  # protobuf's reading, not the converter's
    expected = np.einsum("oi,nihw->nohw", weight[:, :, 0, 0], x) + bias[None, :, None, None]
    blobs = run_reference(conversion.net, {"data": x})
    np.testing.assert_allclose(blobs["square", "squared"], expected * expected, rtol=1e-5, atol=1e-6)
    # ONNX Runtime and PyTorch run the plugin's emitters and agree with that reference.
    pipeline.emit(conversion)
    report = pipeline.run_verification(conversion)
    assert report.passed, report.first_failure
    assert {c.backend for c in report.comparisons} >= {"onnxruntime", "pytorch"}
    assert any(c.blob.startswith("square|") for c in report.comparisons)


def test_cli_plugin_option(tmp_path, registries):
    from click.testing import CliRunner

    from cli import main

    prototxt = tmp_path / "net.prototxt"
    prototxt.write_text(NET)
    done = CliRunner().invoke(main, ["inspect", str(prototxt), "--plugin", str(EXAMPLE)])
    assert done.exit_code == 0, done.output
    assert "square" in done.stdout


def test_a_broken_plugin_is_bad_input_naming_file_and_line(tmp_path, registries):
    from converter.errors import ConverterError
    from converter.plugins import load_plugin

    broken = tmp_path / "broken.py"
    broken.write_text("x = 1\nraise RuntimeError('no GPU here')\n")
    with pytest.raises(ConverterError, match=rf"plugin {broken} failed \(line 2\): RuntimeError: no GPU here"):
        load_plugin(broken)
    with pytest.raises(ConverterError, match="no such file"):
        load_plugin(tmp_path / "missing.py")
    twice = tmp_path / "twice.py"  # registering a built-in type again is refused, not silently replaced
    twice.write_text("from converter.caffe.layers import register\n"
                     "register('ReLU', output_shapes=None, forward=None)\n")
    with pytest.raises(ConverterError, match="layer type ReLU registered twice"):
        load_plugin(twice)
