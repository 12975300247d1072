"""A net with several problems reports all of them at once: every unsupported layer type with its
layers (a Python layer by its module and class), every field and enum value the schema lacks with
file:line:column and its layer; exit 2, no traceback. Layers sharing a name are accepted, as Caffe
accepts them (it connects layers by blob), with weights going where Caffe puts them."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import ROOT, shared_path
from converter.caffe.loader import load_net
from converter.errors import UnsupportedLayersError, WeightsError

BROKEN = """name: "broken"
input: "data" input_shape { dim: 1 dim: 3 dim: 8 dim: 8 }
layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1"
  convolution_param { num_output: 4 kernel_size: 3 weight_quantum: 8 } }
layer { name: "crop1" type: "Crop" bottom: "conv1" bottom: "data" top: "crop1" }
layer { name: "mystery" type: "Frobnicate" bottom: "crop1" top: "m" frobnicate_param { level: 3 } }
layer { name: "pool1" type: "Pooling" bottom: "m" top: "pool1"
  pooling_param { pool: MEDIAN kernel_size: 2 } }
layer { name: "crop2" type: "Crop" bottom: "pool1" bottom: "data" top: "crop2" }
layer { name: "proposal" type: "Python" bottom: "crop2" top: "rois"
  python_param { module: "roi_data_layer.layer" layer: "RoIDataLayer" param_str: "num_classes: 21" } }
"""


def test_every_problem_is_listed_at_once(tmp_path):
    prototxt = tmp_path / "broken.prototxt"
    prototxt.write_text(BROKEN)
    with pytest.raises(UnsupportedLayersError) as caught:
        load_net(prototxt)
    message = str(caught.value)
    lines = BROKEN.split("\n")

    def at(word: str) -> str:  # file:line:column of a word, found in the text itself
        line = next(i for i, text in enumerate(lines) if word in text)
        return f"{prototxt}:{line + 1}:{lines[line].index(word) + 1}"

    assert f"  {at('weight_quantum')}: layer 'conv1' (Convolution): ConvolutionParameter has no field " \
        "'weight_quantum'" in message
    assert f"  {at('frobnicate_param')}: layer 'mystery' (Frobnicate): LayerParameter has no field " \
        "'frobnicate_param'" in message
    assert f"  {at('MEDIAN')}: layer 'pool1' (Pooling): PoolingParameter.pool has no value MEDIAN" in message
    assert "  Frobnicate: mystery" in message
    assert "  Python layer roi_data_layer.layer.RoIDataLayer (python_param module 'roi_data_layer.layer', " \
        "layer 'RoIDataLayer'): proposal" in message
    if "  Crop: " in message:  # until Crop is supported
        assert "  Crop: crop1, crop2" in message
    assert [field.layer for field in caught.value.unknown] == ["conv1", "mystery", "pool1"]


def test_the_command_line_says_it_all_with_exit_2(tmp_path):
    from click.testing import CliRunner

    from cli import main

    prototxt = tmp_path / "broken.prototxt"
    prototxt.write_text(BROKEN)
    done = CliRunner().invoke(main, [str(prototxt), "--out-dir", str(tmp_path / "out")])
    assert done.exit_code == 2
    assert "Traceback" not in done.stderr and done.stderr.startswith("error: ")
    for part in ("weight_quantum", "frobnicate_param", "MEDIAN", "Frobnicate: mystery", "RoIDataLayer"):
        assert part in done.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_the_command_line_lists_every_problem_of_a_long_list(tmp_path):
    # MobileNet-SSD read with BVLC's schema has 19 unknown fields, over 2,000 characters: the middle
    # of the list was cut out ("... characters left out ..."). Each line is listed, none cut.
    from click.testing import CliRunner

    from cli import main

    layers = "".join(f'layer {{ name: "conv{i}_mbox_loc_perm" type: "Permute" bottom: "data" top: "p{i}" '
                     f'permute_param {{ order: 0 order: 2 order: 3 order: 1 }} }}\n' for i in range(30))
    prototxt = tmp_path / "ssd_heads.prototxt"
    prototxt.write_text('input: "data" input_shape { dim: 1 dim: 3 dim: 4 dim: 4 }\n' + layers
                        + 'layer { name: "odd" type: "Frobnicate" bottom: "data" top: "odd" }\n')
    done = CliRunner().invoke(main, ["inspect", str(prototxt), "--caffe-proto",
                                     str(ROOT / "tests" / "fakes" / "bvlc_caffe.proto")])
    assert done.exit_code == 2 and "Traceback" not in done.stderr
    lines = prototxt.read_text().split("\n")
    for i in range(30):
        column = lines[i + 1].index("permute_param") + 1
        assert (f"{prototxt}:{i + 2}:{column}: layer 'conv{i}_mbox_loc_perm' (Permute): "
                "LayerParameter has no field 'permute_param'") in done.stderr
    assert "Frobnicate: odd" in done.stderr and "left out" not in done.stderr


def test_a_value_its_field_cannot_hold_is_listed_with_the_rest(tmp_path):
    # A value of the wrong kind used to stop the parse: the unsupported type after it went unnamed.
    prototxt = tmp_path / "values.prototxt"
    prototxt.write_text('input: "data" input_shape { dim: 1 dim: 3 dim: 4 dim: 4 }\n'
                        'layer { name: "fc" type: "InnerProduct" bottom: "data" top: "fc" '
                        'inner_product_param { num_output: "three" bias_term: maybe } }\n'
                        'layer { name: "odd" type: "Frobnicate" bottom: "fc" top: "odd" '
                        'convolution_param { kernel_size: 1.5 frobs: 2 } }\n')
    with pytest.raises(UnsupportedLayersError) as caught:
        load_net(prototxt)
    message = str(caught.value)
    assert "Frobnicate: odd" in message
    lines = prototxt.read_text().split("\n")

    def at(line: int, word: str) -> str:  # file:line:column of a word, found in the text itself
        return f"{prototxt}:{line}:{lines[line - 1].index(word) + 1}"

    for where, what in [(at(2, '"three"'), "layer 'fc' (InnerProduct): InnerProductParameter.num_output: "
                                           'Couldn\'t parse integer: "three"'),
                        (at(2, "maybe"), "layer 'fc' (InnerProduct): InnerProductParameter.bias_term: "
                                         'Expected "true" or "false".'),
                        (at(3, "1.5"), "layer 'odd' (Frobnicate): ConvolutionParameter.kernel_size: "
                                       "Couldn't parse integer: 1.5"),
                        (at(3, "frobs"), "layer 'odd' (Frobnicate): ConvolutionParameter has no field 'frobs'")]:
        assert f"{where}: {what}" in message


def test_unknown_field_positions_survive_a_layer_named_after_the_field(tmp_path):
    # The layer's name comes after the unknown field: it is still named.
    prototxt = tmp_path / "late_name.prototxt"
    second = 'layer { type: "ReLU" bottom: "data" top: "r" relu_param { cap: 6 } name: "late" }'
    prototxt.write_text(f'input: "data" input_shape {{ dim: 1 dim: 1 dim: 2 dim: 2 }}\n{second}\n')
    with pytest.raises(UnsupportedLayersError) as caught:
        load_net(prototxt)
    column = second.index("cap") + 1
    assert [(f.line, f.column, f.layer, f.name) for f in caught.value.unknown] == [(2, column, "late", "cap")]


# Caffe's Net::CopyTrainedLayersFrom (src/caffe/net.cpp) copies each source layer of a caffemodel
# into the FIRST layer of the net with that name; a later layer of the same name gets nothing.
TWINS = """name: "twins"
input: "data" input_shape { dim: 1 dim: 2 dim: 4 dim: 4 }
layer { name: "conv" type: "Convolution" bottom: "data" top: "a" convolution_param { num_output: 2 kernel_size: 1 } }
layer { name: "relu" type: "ReLU" bottom: "a" top: "a" }
layer { name: "relu" type: "ReLU" bottom: "a" top: "b" }
"""


def test_duplicate_names_are_made_unique_and_weights_go_to_the_first(tmp_path):
    from converter import pipeline
    from converter.caffe.caffemodel import write_caffemodel
    from converter.caffe.prototxt import parse_prototxt

    prototxt = tmp_path / "twins.prototxt"
    prototxt.write_text(TWINS)
    weights = tmp_path / "twins.caffemodel"
    rng = np.random.default_rng(1)
    blobs = [rng.standard_normal((2, 2, 1, 1)).astype(np.float32), np.zeros(2, np.float32)]
    write_caffemodel(weights, parse_prototxt(prototxt), {"conv": blobs})
    conversion = pipeline.convert(prototxt, weights)
    assert [layer.name for layer in conversion.net.layers] == ["conv", "relu", "relu_1"]
    assert [layer.param.name for layer in conversion.net.layers] == ["conv", "relu", "relu"]
    names = [node.name for node in conversion.graph.nodes]
    assert len(names) == len(set(names))
    pipeline.emit(conversion)
    assert pipeline.run_verification(conversion).passed

    # Two convolutions named alike: the first gets the caffemodel's weights, the second none.
    second = TWINS.replace('name: "relu" type: "ReLU" bottom: "a" top: "b"',
                           'name: "conv" type: "Convolution" bottom: "a" top: "b" '
                           'convolution_param { num_output: 2 kernel_size: 1 }')
    prototxt.write_text(second)
    with pytest.raises(WeightsError, match=r"layer 'conv_1': an earlier layer is also named 'conv'"):
        load_net(prototxt, weights)


def test_wild_landmark_net_with_duplicate_names_converts_and_matches_opencv(tmp_path):
    from converter import pipeline
    from converter.caffe.synthetic import write_synthetic_weights

    prototxt = shared_path("wild/facial_landmark_net1/deploy.prototxt")
    weights = tmp_path / "landmark.caffemodel"
    shape = {"data": (1, 3, 48, 48)}  # the deploy's 128x128 only makes the test slower
    write_synthetic_weights(prototxt, weights, input_shapes=shape)
    conversion = pipeline.convert(prototxt, weights, input_shapes=shape)
    assert sum(layer.param.name == "ReLU1" for layer in conversion.net.layers) > 1
    pipeline.emit(conversion, formats=("onnx",))
    report = pipeline.run_verification(conversion, backends=("onnxruntime", "opencv"))
    assert report.passed, report.first_failure
    assert any(c.backend == "opencv" for c in report.comparisons)


def test_an_unknown_v1_type_is_named_with_its_position(tmp_path):
    prototxt = tmp_path / "v1.prototxt"
    prototxt.write_text('input: "data" input_dim: 1 input_dim: 1 input_dim: 2 input_dim: 2\n'
                        'layers { name: "f" type: FROBNICATE bottom: "data" top: "f" }\n')
    with pytest.raises(UnsupportedLayersError) as caught:
        load_net(prototxt)
    assert str(caught.value).endswith(f"{prototxt}:2:26: layer 'f': V1LayerParameter.type has no value FROBNICATE")
    assert not caught.value.unsupported  # not listed a second time as a type "NONE"
