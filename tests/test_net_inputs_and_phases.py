"""Which layers and inputs a net has, by Caffe's rules (net.cpp FilterNet/StateMeetsRule, InputLayer,
upgrade_proto.cpp's input upgrade): Input layers, top-level input/input_dim/input_shape, TEST-phase
include/exclude rules with levels and stages, data layers turned into inputs, training layers dropped."""

from __future__ import annotations

import pytest
from google.protobuf import text_format

from converter.caffe import caffe_pb2
from converter.caffe.loader import build_net
from converter.errors import ModelError, UnsupportedLayersError

TANH = 'layer {{ name: "{name}" type: "TanH" bottom: "{bottom}" top: "{name}" {rules} }}'


def net_of(text: str, input_shapes: dict | None = None):
    return build_net(text_format.Parse(text, caffe_pb2.NetParameter()), input_shapes)


def kept(text: str) -> list[str]:
    return [layer.name for layer in net_of(text).layers]


INPUT = 'layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 2 } } }\n'


# ------------------------------------------------------------------------------------------ inputs


def test_input_layer_shape_once_applies_to_every_top() -> None:
    net = net_of('layer { name: "in" type: "Input" top: "a" top: "b" input_param { shape { dim: 2 dim: 3 } } }'
                 'layer { name: "sum" type: "Eltwise" bottom: "a" bottom: "b" top: "sum" }')
    assert net.inputs == {"a": (2, 3), "b": (2, 3)}


def test_input_layer_shape_per_top() -> None:
    net = net_of('layer { name: "in" type: "Input" top: "a" top: "b" '
                 "input_param { shape { dim: 2 dim: 3 } shape { dim: 4 } } }"
                 'layer { name: "ta" type: "TanH" bottom: "a" top: "ta" } '
                 'layer { name: "tb" type: "TanH" bottom: "b" top: "tb" }')
    assert net.inputs == {"a": (2, 3), "b": (4,)}


def test_input_layer_with_a_shape_count_caffe_refuses() -> None:
    # input_layer.cpp: "Must specify 'shape' once, once per top blob, or not at all".
    text = ('layer { name: "in" type: "Input" top: "a" top: "b" top: "c" '
            "input_param { shape { dim: 2 } shape { dim: 3 } } }")
    with pytest.raises(ModelError, match="layer 'in'.*once per top"):
        net_of(text)


def test_input_layer_without_shape_takes_the_command_line_shape() -> None:
    text = 'layer { name: "in" type: "Input" top: "a" } layer { name: "t" type: "TanH" bottom: "a" top: "t" }'
    with pytest.raises(ModelError, match="input 'a' has no shape"):
        net_of(text)
    assert net_of(text, {"a": (1, 5)}).inputs == {"a": (1, 5)}


@pytest.mark.parametrize("declaration", [
    'input: "data" input_dim: 1 input_dim: 3 input_dim: 4 input_dim: 5',
    'input: "data" input_shape { dim: 1 dim: 3 dim: 4 dim: 5 }',
    # Caffe's input upgrade copies input_shape when it is given, and ignores input_dim then.
    'input: "data" input_shape { dim: 1 dim: 3 dim: 4 dim: 5 } input_dim: 9 input_dim: 9 input_dim: 9 input_dim: 9',
])
def test_top_level_inputs(declaration: str) -> None:
    net = net_of(declaration + ' layer { name: "t" type: "TanH" bottom: "data" top: "t" }')
    assert net.inputs == {"data": (1, 3, 4, 5)}


def test_two_top_level_inputs_with_input_dim() -> None:
    net = net_of('input: "a" input: "b" input_dim: 1 input_dim: 2 input_dim: 3 input_dim: 4 '
                 "input_dim: 5 input_dim: 6 input_dim: 7 input_dim: 8 "
                 'layer { name: "ta" type: "TanH" bottom: "a" top: "ta" } '
                 'layer { name: "tb" type: "TanH" bottom: "b" top: "tb" }')
    assert net.inputs == {"a": (1, 2, 3, 4), "b": (5, 6, 7, 8)}


# ------------------------------------------------------------------------------------- phase rules


def tanh(name: str, rules: str = "", bottom: str = "data") -> str:
    return TANH.format(name=name, bottom=bottom, rules=rules)


def test_include_and_exclude_by_phase() -> None:
    text = INPUT + "".join([
        tanh("always"),
        tanh("test_only", "include { phase: TEST }"),
        tanh("train_only", "include { phase: TRAIN }"),
        tanh("not_in_test", "exclude { phase: TEST }"),
        tanh("not_in_train", "exclude { phase: TRAIN }"),
        tanh("either", "include { phase: TRAIN } include { phase: TEST }"),
    ])
    assert kept(text) == ["always", "test_only", "not_in_train", "either"]


def test_levels_are_checked_at_level_zero() -> None:
    # Net(prototxt, TEST) runs at level 0: min_level 1 fails, max_level -1 fails, [0, 0] passes.
    text = INPUT + "".join([
        tanh("min1", "include { min_level: 1 }"),
        tanh("max_neg", "include { max_level: -1 }"),
        tanh("zero", "include { min_level: 0 max_level: 0 }"),
        tanh("excluded_above", "exclude { min_level: 1 }"),
    ])
    assert kept(text) == ["zero", "excluded_above"]


def test_stages_come_from_the_files_own_state() -> None:
    layers = "".join([
        tanh("deploy", 'include { stage: "deploy" }'),
        tanh("not_deploy", 'include { not_stage: "deploy" }'),
        tanh("deploy_and_x", 'include { stage: "deploy" stage: "x" }'),
        tanh("drop_in_deploy", 'exclude { stage: "deploy" }'),
    ])
    # Without stages: rules needing a stage fail, not_stage rules pass.
    assert kept(INPUT + layers) == ["not_deploy", "drop_in_deploy"]
    # `state { stage: "deploy" }` in the file: the state holds that stage (every listed one is needed).
    assert kept('state { stage: "deploy" }\n' + INPUT + layers) == ["deploy"]


def test_include_and_exclude_together_are_refused() -> None:
    # net.cpp FilterNet: "Specify either include rules or exclude rules; not both."
    with pytest.raises(ModelError, match="layer 'both'.*not both"):
        net_of(INPUT + tanh("both", "include { phase: TEST } exclude { phase: TRAIN }"))


# ---------------------------------------------------------------------------------- train_val nets


TRAIN_VAL = """
layer { name: "train_data" type: "Data" top: "data" top: "label" include { phase: TRAIN } }
layer { name: "test_data" type: "Data" top: "data" top: "label" include { phase: TEST } }
layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip" inner_product_param { num_output: 2 } }
layer { name: "drop" type: "Dropout" bottom: "ip" top: "ip" include { phase: TRAIN } }
layer { name: "loss" type: "SoftmaxWithLoss" bottom: "ip" bottom: "label" top: "loss" }
layer { name: "accuracy" type: "Accuracy" bottom: "ip" bottom: "label" top: "accuracy" include { phase: TEST } }
"""


def test_train_val_data_layer_becomes_an_input_and_training_layers_go() -> None:
    net = net_of(TRAIN_VAL, {"data": (4, 3)})
    assert net.inputs == {"data": (4, 3)}  # `label` is only read by the dropped loss and accuracy
    assert [layer.name for layer in net.layers] == ["ip"]
    assert net.outputs == ["ip"]


def test_train_val_needs_the_input_shape() -> None:
    with pytest.raises(ModelError, match="input 'data' has no shape; give one with --input-shape"):
        net_of(TRAIN_VAL)


def test_python_layer_with_bottoms_is_not_a_data_layer() -> None:
    # A bottomless Python layer feeds data (its tops become inputs); one with bottoms computes
    # something unknown and must be reported, not silently turned into a net input.
    text = ('layer { name: "feed" type: "Python" top: "data" } '
            'layer { name: "proposal" type: "Python" bottom: "data" top: "rois" } '
            'layer { name: "t" type: "TanH" bottom: "rois" top: "t" }')
    with pytest.raises(UnsupportedLayersError) as error:
        net_of(text, {"data": (1, 4)})
    assert error.value.unsupported == {"Python": ["proposal"]}


# ------------------------------------------------------------------------------------------ in place


SQUARE_INPUT = ('layer { name: "data" type: "Input" top: "data" '
                "input_param { shape { dim: 1 dim: 2 dim: 5 dim: 5 } } }\n")


@pytest.mark.parametrize("layer", [
    'type: "ReLU"', 'type: "Sigmoid"', 'type: "Dropout"', 'type: "Power" power_param { power: 2 }',
    'type: "Softmax"', 'type: "BatchNorm"', 'type: "Scale"', 'type: "PReLU"',
])
def test_element_wise_layers_run_in_place(layer: str) -> None:
    net = net_of(SQUARE_INPUT + f'layer {{ name: "x" bottom: "data" top: "data" {layer} }}')
    assert net.layers[0].in_place


@pytest.mark.parametrize("layer", [
    'type: "Convolution" convolution_param { num_output: 2 kernel_size: 1 }',
    'type: "Pooling" pooling_param { kernel_size: 1 }',
    'type: "LRN" lrn_param { local_size: 1 }',
    'type: "InnerProduct" inner_product_param { num_output: 2 }',
])
def test_layers_that_overwrite_their_input_are_refused_in_place(layer: str) -> None:
    # E.g. pooling_layer.cpp fills the top with -FLT_MAX before reading the bottom: in place, the bottom
    # is gone before it is read. Caffe runs such a net without complaint and computes garbage.
    with pytest.raises(ModelError, match="layer 'x'.* in place .*give the top its own name"):
        net_of(SQUARE_INPUT + f'layer {{ name: "x" bottom: "data" top: "data" {layer} }}')


@pytest.mark.parametrize(("operation", "allowed"), [("SUM", False), ("MAX", False), ("PROD", True)])
def test_eltwise_in_place_only_for_prod(operation: str, allowed: bool) -> None:
    # eltwise_layer.cpp: SUM sets the top to 0 and MAX to -FLT_MAX before reading bottom[0]; PROD
    # multiplies element by element, which is safe in place.
    text = (SQUARE_INPUT + 'layer { name: "copy" type: "Power" bottom: "data" top: "a" } '
            f'layer {{ name: "x" type: "Eltwise" bottom: "a" bottom: "data" top: "a" '
            f"eltwise_param {{ operation: {operation} }} }}")
    if allowed:
        assert net_of(text).layers[1].in_place
    else:
        with pytest.raises(ModelError, match=f"layer 'x'.*{operation} in place"):
            net_of(text)


def test_a_top_reusing_another_bottoms_name_is_not_in_place() -> None:
    # net.cpp AppendTop: only top i == bottom i is in place; otherwise the name is "produced by
    # multiple sources".
    text = (SQUARE_INPUT + 'layer { name: "copy" type: "Power" bottom: "data" top: "a" } '
            'layer { name: "x" type: "Eltwise" bottom: "a" bottom: "data" top: "data" '
            "eltwise_param { operation: PROD } }")
    with pytest.raises(ModelError, match="layer 'x'.*top 'data' is already produced by the net input"):
        net_of(text)
