"""The Fast/Faster R-CNN fork layer ROIPooling -> RoiPool."""

from converter.caffe.layers.roi_pooling import pooled_size
from converter.caffe.net import CaffeLayer
from converter.ir import RoiPool
from converter.lift.registry import converts, io


@converts("ROIPooling")
def roi_pooling(layer: CaffeLayer) -> RoiPool:
    scale = float(layer.param.roi_pooling_param.spatial_scale)
    return RoiPool(**io(layer), pooled=pooled_size(layer), spatial_scale=scale)
