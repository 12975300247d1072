"""From files to a checked `CaffeNet`: parse, upgrade, select TEST-phase layers, find the inputs,
infer every shape with Caffe's rules and attach weights by layer name, checking their shapes."""

from __future__ import annotations

import difflib
import math
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

import numpy as np
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from converter.caffe import caffe_pb2
from converter.caffe.caffemodel import read_caffemodel
from converter.caffe.layers import LAYER_TYPES
from converter.caffe.net import CaffeLayer, CaffeNet, Shape
from converter.caffe.prototxt import parse_prototxt
from converter.caffe.upgrade import upgrade_net
from converter.caffe.wire import RawLayer
from converter.errors import ModelError, UnsupportedLayersError, WeightsError

DATA_LAYER_TYPES = {
    "Data", "ImageData", "HDF5Data", "MemoryData", "WindowData", "DummyData", "Python", "AnnotatedData",
}
TRAINING_ONLY_TYPES = {
    "Accuracy", "SoftmaxWithLoss", "EuclideanLoss", "HingeLoss", "InfogainLoss",
    "MultinomialLogisticLoss", "SigmoidCrossEntropyLoss", "ContrastiveLoss", "Silence", "HDF5Output",
}
# Refuse blobs beyond this many elements before allocating anything (8 GiB of float32).
MAX_BLOB_ELEMENTS = 1 << 31
# A weight blob must fit in a caffemodel, which Caffe reads only up to 2 GiB (protobuf's limit).
MAX_WEIGHT_ELEMENTS = 1 << 29
# Caffe's kMaxBlobAxes.
MAX_BLOB_AXES = 32


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
    twice = sorted({name for name in net.input if list(net.input).count(name) > 1})
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


def _check_shape(shape: Shape, what: str, layer: str | None = None) -> None:
    if not shape:
        raise ModelError(f"{what} has no shape; give one with --input-shape", layer=layer)
    if len(shape) > MAX_BLOB_AXES:
        raise ModelError(f"{what} has {len(shape)} axes; Caffe allows at most {MAX_BLOB_AXES}", layer=layer)
    if any(d <= 0 for d in shape):
        raise ModelError(f"{what} has a non-positive dimension {list(shape)}", layer=layer)
    if math.prod(shape) > MAX_BLOB_ELEMENTS:
        raise ModelError(f"{what} of shape {list(shape)} has {math.prod(shape):,} elements, more than "
                         f"the {MAX_BLOB_ELEMENTS:,} allowed", layer=layer)


def _select(proto: caffe_pb2.NetParameter) -> tuple[dict[str, Shape], list[CaffeLayer]]:
    """TEST-phase computing layers, and the inputs they read (shape () where the file gives none)."""
    inputs = _declared_inputs(proto)
    data_tops: dict[str, Shape] = {}
    layers: list[CaffeLayer] = []
    stages = set(proto.state.stage)
    for param in proto.layer:
        if not in_phase(param, caffe_pb2.TEST, stages) or param.type in TRAINING_ONLY_TYPES:
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
            layers.append(CaffeLayer(param.name, param.type, list(param.bottom), list(param.top), param))
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
    return _select(upgrade_net(proto))[0]


def build_net(
    proto: caffe_pb2.NetParameter,
    input_shapes: Mapping[str, Shape] | None = None,
    source_files: Sequence[Path] = (),
) -> CaffeNet:
    """Select the TEST-phase layers, find inputs, check the types and infer every shape."""
    proto = upgrade_net(proto)
    inputs, layers = _select(proto)
    unsupported: dict[str, list[str]] = {}
    for layer in layers:
        if layer.type not in LAYER_TYPES:
            unsupported.setdefault(layer.type or "<no type>", []).append(layer.name)
    if unsupported:
        raise UnsupportedLayersError(unsupported)
    for layer in layers:
        _check_finite(layer.param, layer.name)
    for name, shape in (input_shapes or {}).items():
        if name not in inputs:
            raise ModelError(f"--input-shape names '{name}', but the net's inputs are {list(inputs)}")
        inputs[name] = tuple(shape)
    if not inputs:
        raise ModelError("the net declares no input (input/input_shape, an Input layer or a data layer)")
    for name, shape in inputs.items():
        _check_shape(shape, f"input '{name}'")

    _infer_shapes(layers, inputs)
    return CaffeNet(proto.name, inputs, layers, list(source_files))


def _check_finite(message: Message, layer: str, prefix: str = "") -> None:
    """Every float parameter of the layer is a number: a NaN or infinity would reach the outputs."""
    for field, value in message.ListFields():
        if field.name == "blobs":
            continue
        path = f"{prefix}{field.name}"
        values = value if field.is_repeated else [value]
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            for item in values:
                _check_finite(item, layer, f"{path}.")
        elif field.type in (FieldDescriptor.TYPE_FLOAT, FieldDescriptor.TYPE_DOUBLE):
            bad = next((v for v in values if not math.isfinite(v)), None)
            if bad is not None:
                raise ModelError(f"{path} is {bad}; parameters must be finite numbers", layer=layer)


def _infer_shapes(layers: list[CaffeLayer], inputs: Mapping[str, Shape]) -> None:
    shapes: dict[str, Shape] = dict(inputs)
    producer: dict[str, str] = {}
    names: set[str] = set()
    all_tops = {top: layer.name for layer in layers for top in layer.tops}
    for layer in layers:
        if layer.name in names:
            raise ModelError("two layers have this name", layer=layer.name)
        names.add(layer.name)
        for kind, blob in [*(("bottom", b) for b in layer.bottoms), *(("top", t) for t in layer.tops)]:
            if not blob:
                raise ModelError(f"a {kind} has an empty name", layer=layer.name)
        for bottom in layer.bottoms:
            if bottom in shapes:
                continue
            if bottom in all_tops:
                raise ModelError(f"bottom '{bottom}' is only produced later, by layer "
                                 f"'{all_tops[bottom]}' (a cycle or layers out of order)", layer=layer.name)
            near = difflib.get_close_matches(bottom, list(shapes), n=1)
            hint = f"; did you mean '{near[0]}'?" if near else ""
            raise ModelError(f"bottom '{bottom}' is not produced by any earlier layer{hint}", layer=layer.name)
        # Caffe runs a layer in place only where top i is bottom i; any other reuse of a name is
        # "produced by multiple sources".
        in_place = [i < len(layer.bottoms) and top == layer.bottoms[i] for i, top in enumerate(layer.tops)]
        for top, shared in zip(layer.tops, in_place, strict=True):
            if top in shapes and not shared:
                by = producer.get(top, "the net input")
                raise ModelError(f"top '{top}' is already produced by {by}, and this layer does not work "
                                 "in place (Caffe runs a layer in place only when top i is bottom i)",
                                 layer=layer.name)
        layer.bottom_shapes = [shapes[b] for b in layer.bottoms]
        try:
            top_shapes = LAYER_TYPES[layer.type].output_shapes(layer, layer.bottom_shapes)
        except (IndexError, ValueError, ZeroDivisionError) as error:
            raise ModelError(f"invalid parameters for {layer.type} ({error})", layer=layer.name) from None
        if any(in_place) and not LAYER_TYPES[layer.type].in_place:
            top = layer.tops[in_place.index(True)]
            raise ModelError(f"{layer.type} in place (top '{top}' is also its bottom): Caffe's {layer.type} "
                             "reshapes or overwrites that blob while still reading it, so its output is not "
                             "the layer's function; give the top its own name", layer=layer.name)
        if len(top_shapes) != len(layer.tops):
            raise ModelError(f"{layer.type} makes {len(top_shapes)} tops, the layer names "
                             f"{len(layer.tops)}", layer=layer.name)
        for top, shape in zip(layer.tops, top_shapes, strict=True):
            _check_shape(tuple(shape), f"top '{top}'", layer=layer.name)
            if top in layer.bottoms and tuple(shape) != shapes[top]:
                # In Caffe the top reshapes the very blob the layer is reading: garbage, not a result.
                raise ModelError(f"works in place on '{top}' but changes its shape from {list(shapes[top])} to "
                                 f"{list(shape)}; give the top its own name", layer=layer.name)
        for top, shape in zip(layer.tops, top_shapes, strict=True):
            shapes[top] = tuple(int(d) for d in shape)
            producer[top] = f"layer '{layer.name}'"
        layer.top_shapes = [shapes[t] for t in layer.tops]
        _check_weight_shapes(layer)


def _check_weight_shapes(layer: CaffeLayer) -> None:
    """Weight blobs a caffemodel could hold, checked before anything (make-weights) allocates them."""
    blob_shapes = LAYER_TYPES[layer.type].blob_shapes
    if blob_shapes is None:
        return
    try:
        shapes = blob_shapes(layer, layer.bottom_shapes)
    except (IndexError, ValueError, ZeroDivisionError) as error:
        raise ModelError(f"invalid parameters for {layer.type} ({error})", layer=layer.name) from None
    for i, shape in enumerate(shapes):
        if math.prod(shape) > MAX_WEIGHT_ELEMENTS:
            raise ModelError(f"weight blob {i} of shape {list(shape)} has {math.prod(shape):,} values, more than "
                             f"the {MAX_WEIGHT_ELEMENTS:,} a caffemodel can hold", layer=layer.name)


def _fit_blob(raw_shape: Shape, legacy: bool, data: np.ndarray, expected: Shape) -> np.ndarray | None:
    """The blob reshaped to `expected` if Caffe would accept it, else None."""
    if data.size != math.prod(raw_shape) or data.size != math.prod(expected):
        return None
    if tuple(raw_shape) == tuple(expected):
        return data.reshape(expected)
    # Old files give every blob as num/channels/height/width, e.g. a bias as (1, 1, 1, N).
    if legacy and len(expected) <= 4 and tuple(raw_shape) == (1,) * (4 - len(expected)) + tuple(expected):
        return data.reshape(expected)
    return None


def _all_finite(data: np.ndarray) -> bool:
    """Whether no value is NaN or infinite, without a boolean array the size of the blob.

    A sum is NaN or infinite if any term is; one that overflows from finite terms alone is
    rechecked value by value.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        total = data.sum()
    return bool(np.isfinite(total)) or bool(np.isfinite(data).all())


def _expected_blobs(layer: CaffeLayer) -> list[Shape]:
    blob_shapes = LAYER_TYPES[layer.type].blob_shapes
    return [] if blob_shapes is None else [tuple(s) for s in blob_shapes(layer, layer.bottom_shapes)]


def layers_with_parameters(net: CaffeNet) -> list[str]:
    """The layers whose weights a caffemodel must supply."""
    return [layer.name for layer in net.layers if _expected_blobs(layer)]


def attach_weights(net: CaffeNet, weights: Mapping[str, RawLayer], origin: str) -> None:
    # Layers that hold blobs; a two-bottom Scale without bias or a two-bottom Bias has none.
    wanted = [(layer, expected) for layer in net.layers if (expected := _expected_blobs(layer))]
    if wanted and not any(layer.name in weights for layer, _ in wanted):
        raise WeightsError(f"{origin} has no weights for any layer of this net (it holds "
                           f"{', '.join(list(weights)[:6]) or 'no layers with weights'}...): "
                           "is it the caffemodel of another net?")
    for layer, expected in wanted:
        raw = weights.get(layer.name)
        if raw is None:
            raise WeightsError(f"{origin} holds no weights for this layer", layer=layer.name)
        if len(raw.blobs) != len(expected):
            raise WeightsError(f"expected {len(expected)} blobs {[list(s) for s in expected]}, "
                               f"{origin} holds {len(raw.blobs)} {[list(b.shape) for b in raw.blobs]}",
                               layer=layer.name)
        blobs = []
        for i, (blob, shape) in enumerate(zip(raw.blobs, expected, strict=True)):
            fitted = _fit_blob(blob.shape, blob.legacy, blob.data, shape)
            if fitted is None:
                count = (f"{blob.data.size} values" if blob.data.size == math.prod(blob.shape) else
                         f"but {blob.data.size} values, not the {math.prod(blob.shape)} that shape holds")
                raise WeightsError(f"blob {i} should have shape {list(shape)}, {origin} has "
                                   f"{list(blob.shape)} ({count})", layer=layer.name)
            if not _all_finite(fitted):
                bad = int(np.size(fitted) - np.count_nonzero(np.isfinite(fitted)))
                raise WeightsError(f"blob {i} holds {bad} NaN or infinite values", layer=layer.name)
            blobs.append(fitted)
        layer.blobs = blobs


def load_net(
    prototxt: str | Path,
    weights: str | Path | None = None,
    input_shapes: Mapping[str, Shape] | None = None,
) -> CaffeNet:
    """Read a deploy (or train_val) prototxt and, if given, its weights into a checked CaffeNet."""
    prototxt = Path(prototxt)
    net = build_net(parse_prototxt(prototxt), input_shapes, [prototxt])
    if weights is not None:
        weights = Path(weights)
        attach_weights(net, read_weights(weights, net), str(weights))
        net.source_files.append(weights)
    return net


def read_weights(path: Path, net: CaffeNet) -> Mapping[str, RawLayer]:
    """Weights by layer name from a caffemodel, or from a Deep Compression file, recognised by
    content (whatever the extension): its header fits this net's layers and its size is exactly
    what the layout predicts."""
    from converter.caffe import deep_compression

    if deep_compression.looks_like_deep_compression(path, net):
        return deep_compression.read_deep_compression(path, net)
    try:
        return read_caffemodel(path)
    except WeightsError:
        # Explain why it is not this net's Deep Compression file either: named like one, or with a
        # header that fits this net (then the size is what is wrong).
        if path.suffix == ".net" or deep_compression.has_deep_compression_header(path, net):
            deep_compression.decode(path.read_bytes(), net, str(path))
        raise
