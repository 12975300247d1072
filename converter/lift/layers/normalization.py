"""Caffe LRN and BatchNorm, and the SSD fork's Normalize."""

from converter.caffe import caffe_pb2
from converter.caffe.layers.batch_norm import stored_statistics, uses_global_stats
from converter.caffe.net import CaffeLayer
from converter.ir import BatchNorm, Lrn, Normalize
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
    eps = layer.param.batch_norm_param.eps
    if not uses_global_stats(layer):
        return BatchNorm(**io(layer), mean=None, var=None, eps=eps, batch_statistics=True)
    mean, var = stored_statistics(layer)
    return BatchNorm(**io(layer), mean=mean, var=var, eps=eps)


@converts("Normalize")
def normalize(layer: CaffeLayer) -> Normalize:
    p = layer.param.norm_param
    scale = layer.blobs[0].reshape(()) if p.channel_shared else layer.blobs[0]
    return Normalize(**io(layer), scale=scale, across_spatial=p.across_spatial, eps=p.eps)
