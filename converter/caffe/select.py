"""Which layers and inputs make the net Caffe's `Net(prototxt, TEST)` builds: phase and stage
rules, inputs declared at the top level or by Input layers, data layers' tops, training-only layers
dropped."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection

from converter.caffe import caffe_pb2
from converter.caffe.net import CaffeLayer, Shape
from converter.caffe.upgrade import upgrade_net
from converter.errors import ModelError

DATA_LAYER_TYPES = {
    "Data", "ImageData", "HDF5Data", "MemoryData", "WindowData", "DummyData", "Python", "AnnotatedData",
    # forks: SSD's VideoData, SegNet/ENet's DenseImageData, DeepLab's ImageSegData and MatRead
    "VideoData", "DenseImageData", "ImageSegData", "MatRead",
}
TRAINING_ONLY_TYPES = {
    "Accuracy", "SoftmaxWithLoss", "EuclideanLoss", "HingeLoss", "InfogainLoss",
    "MultinomialLogisticLoss", "SigmoidCrossEntropyLoss", "ContrastiveLoss", "Silence", "HDF5Output",
    # forks: losses, evaluation and file output (SSD, Faster R-CNN, DeepLab, crnn.caffe)
    "MultiBoxLoss", "DetectionEvaluate", "SmoothL1Loss", "SegAccuracy", "MatWrite", "CtcLoss",
}


def _rule_matches(rule: caffe_pb2.NetStateRule, phase: int, stages: Collection[str]) -> bool:
    """Caffe's StateMeetsRule for a state of `phase`, level 0 and `stages`."""
    if rule.HasField("phase") and rule.phase != phase:
        return False
    if rule.HasField("min_level") and rule.min_level > 0:
        return False
    if rule.HasField("max_level") and rule.max_level < 0:
        return False
    return all(stage in stages for stage in rule.stage) and not any(stage in stages for stage in rule.not_stage)


def in_phase(layer: caffe_pb2.LayerParameter, phase: int = caffe_pb2.TEST, stages: Collection[str] = ()) -> bool:
    """Caffe's FilterNet: any matching include admits; otherwise any matching exclude rejects.

    Like Caffe's Net(prototxt, phase) the state is the given phase at level 0; its stages are the
    ones the file's own `state` lists.
    """
    if layer.include and layer.exclude:
        raise ModelError("specify either include rules or exclude rules; not both", layer=layer.name)
    if layer.include:
        return any(_rule_matches(rule, phase, stages) for rule in layer.include)
    return not any(_rule_matches(rule, phase, stages) for rule in layer.exclude)


def _declared_inputs(net: caffe_pb2.NetParameter) -> dict[str, Shape]:
    inputs: dict[str, Shape] = {}
    twice = sorted(name for name, count in Counter(net.input).items() if count > 1)
    if twice:
        raise ModelError(f"input {', '.join(repr(n) for n in twice)} is declared more than once")
    if net.input_shape:
        if len(net.input_shape) != len(net.input):
            raise ModelError(f"{len(net.input)} inputs but {len(net.input_shape)} input_shape entries")
        for name, shape in zip(net.input, net.input_shape, strict=True):
            inputs[name] = tuple(int(d) for d in shape.dim)
    elif net.input_dim:
        if len(net.input_dim) != 4 * len(net.input):
            raise ModelError(f"{len(net.input)} inputs need {4 * len(net.input)} input_dim values, "
                             f"found {len(net.input_dim)}")
        for i, name in enumerate(net.input):
            inputs[name] = tuple(int(d) for d in net.input_dim[4 * i : 4 * i + 4])
    elif net.input:
        inputs.update((name, ()) for name in net.input)
    return inputs


def python_layer_key(param: caffe_pb2.LayerParameter) -> str:
    """The type a Python layer goes by in the converter's registries: its python_param `module.layer`
    (e.g. "rpn.proposal_layer.ProposalLayer"); "Python" when either is missing."""
    module, layer = param.python_param.module, param.python_param.layer
    return f"{module}.{layer}" if module and layer else "Python"


def unique_layer_names(names: list[str]) -> list[str]:
    """Names made unique as OpenCV's Caffe importer does (the second "relu" is "relu_1", the third
    "relu_2"), skipping a suffix that is another layer's name."""
    taken, seen, unique = set(names), dict.fromkeys(names, 0), []
    for name in names:
        repetition, seen[name] = seen[name], seen[name] + 1
        candidate = name
        if repetition:
            candidate = f"{name}_{repetition}"
            while candidate in taken:
                repetition += 1
                candidate = f"{name}_{repetition}"
            seen[name] = repetition + 1
            taken.add(candidate)
        unique.append(candidate)
    return unique


def _test_net(proto: caffe_pb2.NetParameter) -> list[int]:
    """Indices in `proto.layer` of the layers in Caffe's TEST net."""
    stages = set(proto.state.stage)
    return [index for index, param in enumerate(proto.layer) if in_phase(param, caffe_pb2.TEST, stages)]


def written_as(proto: caffe_pb2.NetParameter, unique_name: str) -> tuple[str, int] | None:
    """The file's name of the layer select_layers calls `unique_name`, and how many layers of that
    name come before it in the file (TRAIN-only ones included): which block of that name it is."""
    in_test_net = _test_net(proto)
    names = unique_layer_names([proto.layer[index].name for index in in_test_net])
    if unique_name not in names:
        return None
    at = in_test_net[names.index(unique_name)]
    name = proto.layer[at].name
    return name, sum(param.name == name for param in proto.layer[:at])


def select_layers(proto: caffe_pb2.NetParameter) -> tuple[dict[str, Shape], list[CaffeLayer]]:
    """TEST-phase computing layers, and the inputs they read (shape () where the file gives none).

    Caffe connects layers by blob and never checks layer names, so two layers may share one: the
    layers keep the file's name in `param.name` and get unique names (OpenCV's scheme) as `name`;
    only the first layer of a name in Caffe's TEST net is given a caffemodel's weights, as
    Net::CopyTrainedLayersFrom copies each source layer into the first layer of its name.
    """
    inputs = _declared_inputs(proto)
    data_tops: dict[str, Shape] = {}
    layers: list[CaffeLayer] = []
    in_test_net = [proto.layer[index] for index in _test_net(proto)]
    first_of_name: dict[str, int] = {}
    for index, param in enumerate(in_test_net):
        first_of_name.setdefault(param.name, index)
    unique_names = unique_layer_names([param.name for param in in_test_net])
    for index, param in enumerate(in_test_net):
        if param.type in TRAINING_ONLY_TYPES:
            continue
        if param.type in DATA_LAYER_TYPES or param.type == "Input":
            for top in param.top:
                if top in inputs or top in data_tops:
                    raise ModelError(f"top '{top}' is already a net input", layer=param.name)
        if param.type == "Input":
            inputs.update(_input_layer_shapes(param))
        elif param.type in DATA_LAYER_TYPES and not (param.type == "Python" and param.bottom):
            # A Python layer is a data layer only when it reads nothing; otherwise it computes
            # something we cannot know, and is reported as unsupported.
            data_tops.update((top, ()) for top in param.top)
        else:
            kind = python_layer_key(param) if param.type == "Python" else param.type
            layers.append(CaffeLayer(unique_names[index], kind, list(param.bottom), list(param.top), param,
                                     receives_weights=first_of_name[param.name] == index))
    # Data-layer tops only read by dropped training layers (labels) are not inputs.
    read = {bottom for layer in layers for bottom in layer.bottoms}
    inputs.update((name, shape) for name, shape in data_tops.items() if name in read)
    return inputs, layers


def _input_layer_shapes(param: caffe_pb2.LayerParameter) -> dict[str, Shape]:
    """Caffe's InputLayer: `shape` given once (every top), once per top, or not at all."""
    shapes = [tuple(int(d) for d in s.dim) for s in param.input_param.shape]
    if len(shapes) not in (0, 1, len(param.top)):
        raise ModelError(f"input_param must give 'shape' once, once per top or not at all: {len(param.top)} "
                         f"tops, {len(shapes)} shapes", layer=param.name)
    return {top: shapes[i if len(shapes) > 1 else 0] if shapes else () for i, top in enumerate(param.top)}


def declared_inputs(proto: caffe_pb2.NetParameter) -> dict[str, Shape]:
    """The net's inputs with the shapes the file gives them (() where it gives none: data layers)."""
    return select_layers(upgrade_net(proto))[0]
