"""Caffe LRN and BatchNorm."""

from converter.caffe import caffe_pb2
from converter.caffe.layers.batch_norm import stored_statistics
from converter.caffe.net import CaffeLayer
from converter.errors import ModelError
from converter.ir import BatchNorm, Lrn
from converter.lift.registry import converts, io


@converts("LRN")
def lrn(layer: CaffeLayer) -> Lrn:
    p = layer.param.lrn_param
    across = p.norm_region == caffe_pb2.LRNParameter.ACROSS_CHANNELS
    size, alpha = int(p.local_size), float(p.alpha)
    channels = layer.bottom_shapes[0][1]
    if across and size > 2 * channels - 1:
        # A window wider than 2C-1 only adds zero padding, which ONNX Runtime and PyTorch would
        # allocate (gigabytes for an absurd local_size): narrow it, keeping alpha / size.
        size, alpha = 2 * channels - 1, alpha * (2 * channels - 1) / size
    return Lrn(**io(layer), size=size, alpha=alpha, beta=p.beta, k=p.k, across_channels=across)


@converts("BatchNorm")
def batch_norm(layer: CaffeLayer) -> BatchNorm:
    p = layer.param.batch_norm_param
    if p.HasField("use_global_stats") and not p.use_global_stats:
        raise ModelError("use_global_stats: false (batch statistics at test time) is not supported",
                         layer=layer.name)
    mean, var = stored_statistics(layer)
    return BatchNorm(**io(layer), mean=mean, var=var, eps=p.eps)
