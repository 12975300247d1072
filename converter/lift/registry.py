"""The table of Caffe layer converters: one short function per Caffe layer type.

A converter turns one CaffeLayer (already shape-checked, weights attached) into one IR node whose
inputs and outputs are still Caffe blob names; `lift` then resolves in-place layers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypedDict

from converter.caffe.net import CaffeLayer
from converter.ir import Node

LayerConverter = Callable[[CaffeLayer], Node]

CONVERTERS: dict[str, LayerConverter] = {}


def converts(*caffe_types: str) -> Callable[[LayerConverter], LayerConverter]:
    def register(function: LayerConverter) -> LayerConverter:
        for caffe_type in caffe_types:
            if caffe_type in CONVERTERS:
                raise ValueError(f"two converters for Caffe type {caffe_type}")
            CONVERTERS[caffe_type] = function
        return function

    return register


class NodeIO(TypedDict):
    """The keyword arguments every node takes from its layer."""

    name: str
    inputs: list[str]
    outputs: list[str]


def io(layer: CaffeLayer) -> NodeIO:
    """The node's name (the layer's), inputs (its bottoms) and outputs (its tops)."""
    return {"name": layer.name, "inputs": list(layer.bottoms), "outputs": list(layer.tops)}
