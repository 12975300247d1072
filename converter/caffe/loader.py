"""From files to a checked `CaffeNet`: parse, upgrade, select TEST-phase layers and find the inputs
(select.py), infer every shape with Caffe's rules (shapes.py) and attach weights by layer name,
checking their shapes (weights.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from converter.caffe import caffe_pb2
from converter.caffe.fork_semantics import infer_for_fork
from converter.caffe.layers import LAYER_TYPES
from converter.caffe.limits import MAX_LAYERS
from converter.caffe.net import CaffeNet, Shape
from converter.caffe.prototxt import ParsedPrototxt, layer_position, read_prototxt
from converter.caffe.select import declared_inputs, select_layers, written_as
from converter.caffe.shapes import MAX_BLOB_AXES, MAX_BLOB_ELEMENTS, check_finite, check_shape, infer_shapes
from converter.caffe.upgrade import upgrade_net
from converter.caffe.weights import attach_weights, layers_with_parameters, read_weights
from converter.errors import ModelError, UnsupportedLayersError
from converter.plugins import load_installed_plugins

__all__ = [
    "MAX_BLOB_AXES", "MAX_BLOB_ELEMENTS", "attach_weights", "build_net", "declared_inputs",
    "layers_with_parameters", "load_net",
]


def build_net(
    proto: caffe_pb2.NetParameter,
    input_shapes: Mapping[str, Shape] | None = None,
    source_files: Sequence[Path] = (),
    parsed: ParsedPrototxt | None = None,
    caffe_fork: str | None = None,
) -> CaffeNet:
    """Select the TEST-phase layers, find inputs, check the types and infer every shape.

    `parsed` (from read_prototxt) brings the fields and values the text named that the schema
    lacks: they are reported together with every unsupported layer type, all at once.
    `caffe_fork`: the Caffe build the net was written for, where builds read it differently
    (converter.caffe.fork_semantics; None: the command line's --caffe-fork, else decided by the
    net's shapes).
    """
    count = max(len(proto.layer), len(proto.layers)) + len(proto.input)
    if count > MAX_LAYERS:
        raise ModelError(f"the net has {count:,} layers and inputs; at most {MAX_LAYERS:,} are converted "
                         "(the largest real nets have a few thousand)")
    load_installed_plugins()
    proto = upgrade_net(proto)
    inputs, layers = select_layers(proto)
    unknown_v1_types = parsed.unknown_v1_types if parsed is not None else {}
    unsupported: dict[str, list[str]] = {}
    for layer in layers:
        if layer.type == "NONE" and layer.param.name in unknown_v1_types:
            continue  # an unknown V1 enum type: listed with the unknown values
        if layer.type not in LAYER_TYPES:
            unsupported.setdefault(layer.type or "<no type>", []).append(layer.name)
    if unsupported or (parsed is not None and parsed.unknown):
        raise UnsupportedLayersError(unsupported, parsed.unknown if parsed is not None else ())
    for layer in layers:
        check_finite(layer.param, layer.name)
    for name, shape in (input_shapes or {}).items():
        if name not in inputs:
            raise ModelError(f"--input-shape names '{name}', but the net's inputs are {list(inputs)}")
        inputs[name] = tuple(shape)
    if not inputs:
        raise ModelError("the net declares no input (input/input_shape, an Input layer or a data layer)")
    for name, shape in inputs.items():
        check_shape(shape, f"input '{name}'")

    fork, notes = infer_for_fork(layers, inputs, infer_shapes, caffe_fork)  # type: ignore[arg-type]
    return CaffeNet(proto.name, inputs, layers, list(source_files), caffe_fork=fork, notes=notes)


def load_net(
    prototxt: str | Path,
    weights: str | Path | None = None,
    input_shapes: Mapping[str, Shape] | None = None,
    caffe_proto: str | Path | None = None,
    caffe_fork: str | None = None,
) -> CaffeNet:
    """Read a deploy (or train_val) prototxt and, if given, its weights into a checked CaffeNet.

    `caffe_proto`: a fork's own caffe.proto to read the prototxt with (see converter.caffe.schema).
    `caffe_fork`: the Caffe build the net was written for where builds differ ("bvlc", "yolov3";
    converter.caffe.fork_semantics); None decides by the net's shapes.
    """
    prototxt = Path(prototxt)
    parsed = read_prototxt(prototxt, caffe_proto)
    try:
        net = build_net(parsed.net, input_shapes, [prototxt], parsed, caffe_fork)
    except ModelError as error:
        raise _located(error, prototxt, parsed) from None
    if weights is not None:
        weights = Path(weights)
        attach_weights(net, read_weights(weights, net), str(weights))
        net.source_files.append(weights)
    return net


def _located(error: ModelError, prototxt: Path, parsed: ParsedPrototxt) -> ModelError:
    """`error` about a layer, prefixed with where that layer is written (file:line:column). A layer
    sharing its name with others is known by its unique name (OpenCV's: the second "relu" is "relu_1")."""
    if error.layer is None:
        return error
    name, occurrence = written_as(upgrade_net(parsed.net), error.layer) or (error.layer, 0)
    where = layer_position(parsed.text, name, occurrence)
    if where is None:
        return error
    located = ModelError(f"{prototxt}:{where[0]}:{where[1]}: {error}")
    located.layer = error.layer
    return located
