"""Crop: cut bottom[0] down to bottom[1]'s size on every axis from `axis` on (BVLC crop_layer.cpp).

`axis` (default 2, negative counts from the end) is the first cropped axis; axes before it keep
bottom[0]'s size. `offset` holds no value (offset 0 on every cropped axis), one (the same offset on
each) or exactly one per cropped axis. On a cropped axis i the top takes bottom[1]'s size and
starts at the offset: bottom[0] must hold `offset + size`. Only bottom[1]'s shape is read (FCN
crops its upsampled scores to the input image this way).
"""

from __future__ import annotations

import numpy as np

from converter.caffe.layers import register
from converter.caffe.layers.common import canonical_axis, expect_count, fail, no_in_place
from converter.caffe.net import CaffeLayer, Shape


def crop_window(layer: CaffeLayer, bottoms: list[Shape]) -> tuple[int, list[int], list[int]]:
    """(first cropped axis, offsets, sizes) with one offset and size per axis from that axis on."""
    expect_count(layer, bottoms, bottoms_n=2)
    no_in_place(layer)
    data, reference = bottoms
    p = layer.param.crop_param
    axis = canonical_axis(layer, int(p.axis), len(data))
    cropped = len(data) - axis
    if len(p.offset) > 1 and len(p.offset) != cropped:
        raise fail(layer, f"{len(p.offset)} offsets for {cropped} cropped axes (from axis {axis} of a "
                          f"{len(data)}-D bottom): give one offset, or one per cropped axis")
    if len(reference) < len(data):
        raise fail(layer, f"the reference bottom {list(reference)} has fewer axes than the cropped "
                          f"bottom {list(data)}")
    offsets = [int(p.offset[0])] * cropped if len(p.offset) == 1 else [int(v) for v in p.offset] or [0] * cropped
    sizes = [int(reference[i]) for i in range(axis, len(data))]
    for i, (offset, size) in enumerate(zip(offsets, sizes, strict=True)):
        if offset + size > data[axis + i]:
            raise fail(layer, f"the crop for axis {axis + i} is out of bounds: size {size} at offset {offset} "
                              f"from a bottom of size {data[axis + i]}")
    return axis, offsets, sizes


def output_shapes(layer: CaffeLayer, bottoms: list[Shape]) -> list[Shape]:
    axis, _, sizes = crop_window(layer, bottoms)
    return [(*bottoms[0][:axis], *sizes)]


def forward(layer: CaffeLayer, inputs: list[np.ndarray]) -> list[np.ndarray]:
    x, reference = inputs
    axis, offsets, sizes = crop_window(layer, [tuple(x.shape), tuple(reference.shape)])
    window = (slice(None),) * axis + tuple(slice(o, o + s) for o, s in zip(offsets, sizes, strict=True))
    return [np.ascontiguousarray(np.asarray(x, dtype=np.float32)[window])]


register("Crop", output_shapes=output_shapes, forward=forward)
