"""Helpers shared by several layer types."""

from __future__ import annotations

from converter.caffe.net import CaffeLayer, Shape


def same_shape(layer: CaffeLayer, bottoms: list[Shape]) -> list[Shape]:
    """Element-wise layers: each top has its bottom's shape."""
    return [bottoms[0] for _ in layer.tops]
