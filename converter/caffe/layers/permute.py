"""Permute (SSD fork): reorder the axes of the bottom; `order` lists the new axes, the axes it
leaves out follow in their own order. Orders must be distinct and below the bottom's axis count.
An order that keeps every axis in place shares the bottom's data (a copy here)."""

from __future__ import annotations

import numpy as np

from converter.caffe.layers import register
from converter.caffe.layers.common import expect_count, fail, no_in_place
from converter.caffe.net import CaffeLayer, Shape


def full_order(layer: CaffeLayer, ndim: int) -> list[int]:
    """PermuteLayer::LayerSetUp: the given orders, then the remaining axes ascending."""
    orders: list[int] = []
    for order in layer.param.permute_param.order:
        if order >= ndim:
            raise fail(layer, f"order {order} should be less than the input dimension {ndim}")
        if order in orders:
            raise fail(layer, f"there are duplicate orders: {list(layer.param.permute_param.order)}")
        orders.append(int(order))
    return orders + [axis for axis in range(ndim) if axis not in orders]


def output_shapes(layer: CaffeLayer, bottoms: list[Shape]) -> list[Shape]:
    expect_count(layer, bottoms)
    no_in_place(layer)
    shape = bottoms[0]
    return [tuple(shape[axis] for axis in full_order(layer, len(shape)))]


def forward(layer: CaffeLayer, inputs: list[np.ndarray]) -> list[np.ndarray]:
    (x,) = inputs
    order = full_order(layer, x.ndim)
    return [np.ascontiguousarray(np.transpose(np.asarray(x, np.float32), order))]


register("Permute", output_shapes=output_shapes, forward=forward)
