"""Caffe LRN and BatchNorm."""

import numpy as np

from converter.caffe import caffe_pb2
from converter.caffe.net import CaffeLayer
from converter.errors import ModelError
from converter.ir import BatchNorm, Lrn
from converter.lift.registry import converts, io


@converts("LRN")
def lrn(layer: CaffeLayer) -> Lrn:
    p = layer.param.lrn_param
    return Lrn(**io(layer), size=p.local_size, alpha=p.alpha, beta=p.beta, k=p.k,
               across_channels=p.norm_region == caffe_pb2.LRNParameter.ACROSS_CHANNELS)


@converts("BatchNorm")
def batch_norm(layer: CaffeLayer) -> BatchNorm:
    p = layer.param.batch_norm_param
    if p.HasField("use_global_stats") and not p.use_global_stats:
        raise ModelError("use_global_stats: false (batch statistics at test time) is not supported",
                         layer=layer.name)
    # Caffe multiplies the stored statistics by 1/factor (float32), or zeroes them if factor is 0.
    factor = float(layer.blobs[2].reshape(-1)[0])
    scale = np.float32(0.0 if factor == 0 else 1.0 / factor)
    return BatchNorm(**io(layer), mean=layer.blobs[0] * scale, var=layer.blobs[1] * scale, eps=p.eps)
