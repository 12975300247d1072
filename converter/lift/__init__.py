"""Lifting a CaffeNet into the IR: one registered converter per Caffe layer type."""

from __future__ import annotations

import importlib
import pkgutil

from converter.caffe.loader import layers_with_parameters
from converter.caffe.net import CaffeLayer, CaffeNet
from converter.errors import ModelError, UnsupportedLayersError, WeightsError
from converter.ir import Graph, InvalidNode, Node
from converter.lift import layers as _layers
from converter.lift.registry import CONVERTERS
from converter.passes.inplace import resolve_in_place

for _module in pkgutil.iter_modules(_layers.__path__):
    importlib.import_module(f"{_layers.__name__}.{_module.name}")


def _convert(layer: CaffeLayer) -> Node:
    """The layer's IR node; a node the IR refuses is the layer's fault (exit 2, naming it)."""
    try:
        return CONVERTERS[layer.type](layer)
    except InvalidNode as error:
        raise ModelError(error.reason, layer=layer.name) from None


def lift(net: CaffeNet) -> Graph:
    """The net as an SSA IR graph, before any fusion."""
    unsupported: dict[str, list[str]] = {}
    for layer in net.layers:
        if layer.type not in CONVERTERS:
            unsupported.setdefault(layer.type, []).append(layer.name)
    if unsupported:
        raise UnsupportedLayersError(unsupported)
    needing = set(layers_with_parameters(net))
    for layer in net.layers:
        if layer.name in needing and not layer.blobs:
            raise WeightsError("the layer has no weights (give a caffemodel)", layer=layer.name)
    nodes = [_convert(layer) for layer in net.layers]
    graph = Graph(name=net.name or "CaffeNet", inputs=list(net.inputs), outputs=net.outputs, nodes=nodes)
    top_shapes = {(layer.name, top): shape for layer in net.layers
                  for top, shape in zip(layer.tops, layer.top_shapes, strict=True)}
    resolve_in_place(graph, dict(net.inputs), top_shapes)
    return graph
