"""Caffe Pooling -> Pool, with Caffe's round-up expressed as explicit uncounted end padding."""

from __future__ import annotations

from converter.caffe import caffe_pb2
from converter.caffe.layers.pooling import geometry
from converter.caffe.net import CaffeLayer
from converter.errors import ModelError
from converter.ir import Pool
from converter.ir.ops import PoolKind
from converter.lift.registry import converts, io


@converts("Pooling")
def pooling(layer: CaffeLayer) -> Pool:
    g = geometry(layer, layer.bottom_shapes)
    kind: PoolKind = "max" if g.method == caffe_pb2.PoolingParameter.MAX else "avg"
    if layer.param.pooling_param.global_pooling:
        return Pool(**io(layer), kind=kind, kernel=g.kernel, stride=(1, 1), global_pool=True)
    in_hw = layer.bottom_shapes[0][2:]
    # The extra cells that make floor rounding give Caffe's (rounded-up, clipped) output size.
    eh, ew = (max(0, (o - 1) * s + k - (i + 2 * p))
              for i, o, k, s, p in zip(in_hw, g.out, g.kernel, g.stride, g.pad, strict=True))
    node = Pool(**io(layer), kind=kind, kernel=g.kernel, stride=g.stride, pad=g.pad, extra_end=(eh, ew))
    axis = node.empty_average_axis(in_hw)
    if axis is not None:
        # With a stride above the kernel and no padding, Caffe's last AVE window can start past the
        # input; it then divides an empty sum by a non-positive window size (NaN or -0).
        size, p = in_hw[axis], g.pad[axis]
        start = (g.out[axis] - 1) * g.stride[axis] - p
        raise ModelError(f"the last AVE window along {'HW'[axis]} starts at {start}, past the input "
                         f"({size} + pad {p}); Caffe divides an empty sum by {size + p - start} there "
                         "(NaN or 0), which is not converted", layer=layer.name)
    return node
