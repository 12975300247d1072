"""Every blob's shape by Caffe's rules, layer by layer, with the checks that keep a hostile file from
making anything allocate more than it may: axes, element counts, weight sizes, finite parameters."""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from converter.caffe.layers import LAYER_TYPES
from converter.caffe.limits import MAX_BLOB_AXES, MAX_BLOB_ELEMENTS, MAX_WEIGHT_ELEMENTS
from converter.caffe.net import CaffeLayer, Shape
from converter.errors import ModelError

__all__ = ["MAX_BLOB_AXES", "MAX_BLOB_ELEMENTS", "MAX_WEIGHT_ELEMENTS", "check_finite", "check_shape",
           "infer_shapes"]


def check_shape(shape: Shape, what: str, layer: str | None = None) -> None:
    """Refuse a blob shape Caffe could not hold or that is too big to allocate; `what` names the blob."""
    if not shape and layer is not None:
        # Caffe allows a 0-axis (scalar) blob; the IR's tensors keep a batch dim.
        raise ModelError(f"{what} has no axes (a 0-D blob), which is not converted", layer=layer)
    if not shape:
        raise ModelError(f"{what} has no shape; give one with --input-shape", layer=layer)
    if len(shape) > MAX_BLOB_AXES:
        raise ModelError(f"{what} has {len(shape)} axes; Caffe allows at most {MAX_BLOB_AXES}", layer=layer)
    if any(d <= 0 for d in shape):
        raise ModelError(f"{what} has a non-positive dimension {list(shape)}", layer=layer)
    if math.prod(shape) > MAX_BLOB_ELEMENTS:
        raise ModelError(f"{what} of shape {list(shape)} has {math.prod(shape):,} elements, more than "
                         f"the {MAX_BLOB_ELEMENTS:,} allowed", layer=layer)


def check_finite(message: Message, layer: str, prefix: str = "") -> None:
    """Every float parameter of the layer is a number: a NaN or infinity would reach the outputs."""
    for field, value in message.ListFields():
        if field.name == "blobs":
            continue
        path = f"{prefix}{field.name}"
        values = value if field.is_repeated else [value]
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            for item in values:
                check_finite(item, layer, f"{path}.")
        elif field.type in (FieldDescriptor.TYPE_FLOAT, FieldDescriptor.TYPE_DOUBLE):
            bad = next((v for v in values if not math.isfinite(v)), None)
            if bad is not None:
                raise ModelError(f"{path} is {bad}; parameters must be finite numbers", layer=layer)


def infer_shapes(layers: list[CaffeLayer], inputs: Mapping[str, Shape]) -> None:
    shapes: dict[str, Shape] = dict(inputs)
    producer: dict[str, str] = {}
    all_tops = {top: layer.name for layer in layers for top in layer.tops}
    for layer in layers:
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
            check_shape(tuple(shape), f"top '{top}'", layer=layer.name)
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
