"""The SegNet/ENet fork layer Upsample (data and a MAX Pooling's mask) -> Unpool."""

from converter.caffe.layers.upsample import output_shapes
from converter.caffe.net import CaffeLayer
from converter.ir import Unpool
from converter.lift.registry import converts, io


@converts("Upsample")
def upsample(layer: CaffeLayer) -> Unpool:
    ((_, _, out_h, out_w),) = output_shapes(layer, layer.bottom_shapes)
    return Unpool(**io(layer), out_hw=(out_h, out_w))
