"""The SegNet/ENet and PSPNet fork layer BN -> Scale (a per-channel factor and addend).

SegNet's INFERENCE mode is x * scale + shift, a Scale as it stands. PSPNet's stored statistics
are folded into one: (x - mean) * (var + eps)^-0.5 * slope + bias = x * gamma + beta with
gamma = slope * (var + eps)^-0.5 and beta = bias - mean * gamma (the same function; float32
rounding differs from Caffe's order of operations by a few ulps). SegNet's LEARN mode (bn_mode's
default) normalises by each batch's own E[x] and E[x^2] - E[x]^2 with the fork's fixed eps, then
scales and shifts: a BatchMomentNorm.
"""

import numpy as np

from converter.caffe.layers.bn import SEGNET_EPS, is_pspnet, learns, per_channel, pspnet_eps
from converter.caffe.net import CaffeLayer
from converter.ir import BatchMomentNorm, Scale
from converter.lift.registry import converts, io


@converts("BN")
def bn(layer: CaffeLayer) -> Scale | BatchMomentNorm:
    if is_pspnet(layer):
        slope, bias, mean, var = (per_channel(layer, i) for i in range(4))
        gamma = (slope * (var + np.float32(pspnet_eps(layer))) ** np.float32(-0.5)).astype(np.float32)
        beta = (bias - mean * gamma).astype(np.float32)
        return Scale(**io(layer), gamma=gamma, beta=beta, axis=1)
    if learns(layer):
        return BatchMomentNorm(**io(layer), gamma=per_channel(layer, 0), beta=per_channel(layer, 1),
                               eps=float(SEGNET_EPS))
    return Scale(**io(layer), gamma=per_channel(layer, 0), beta=per_channel(layer, 1), axis=1)
