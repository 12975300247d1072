"""The forks' resizing layers: YOLO's Upsample -> NearestUpsample, SegNet/ENet's Upsample (data and a
MAX Pooling's mask) -> Unpool; DeepLab/PSPNet's Interp -> BilinearInterp."""

from converter.caffe.layers.interp import interp_geometry
from converter.caffe.layers.upsample import nearest_scale, output_shapes
from converter.caffe.net import CaffeLayer
from converter.ir import BilinearInterp, NearestUpsample, Unpool
from converter.lift.registry import converts, io


@converts("Upsample")
def upsample(layer: CaffeLayer) -> NearestUpsample | Unpool:
    if len(layer.bottoms) == 2:
        ((_, _, out_h, out_w),) = output_shapes(layer, layer.bottom_shapes)
        return Unpool(**io(layer), out_hw=(out_h, out_w))
    scale = nearest_scale(layer, layer.bottom_shapes)
    return NearestUpsample(**io(layer), scale=(scale, scale))


@converts("Interp")
def interp(layer: CaffeLayer) -> BilinearInterp:
    begin, end, size = interp_geometry(layer, layer.bottom_shapes)
    # A second bottom gives only its (static) size: the node reads the resized blob alone.
    return BilinearInterp(name=layer.name, inputs=layer.bottoms[:1], outputs=list(layer.tops), size=size,
                          crop_begin=begin, crop_end=end)
