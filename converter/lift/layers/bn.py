"""The SegNet/ENet and PSPNet fork layer BN -> Scale (a per-channel factor and addend).

SegNet's INFERENCE mode is x * scale + shift, a Scale as it stands. PSPNet's stored statistics
are folded into one: (x - mean) * (var + eps)^-0.5 * slope + bias = x * gamma + beta with
gamma = slope * (var + eps)^-0.5 and beta = bias - mean * gamma (the same function; float32
rounding differs from Caffe's order of operations by a few ulps). SegNet's LEARN mode normalises
by each batch's own statistics and is refused.
"""

import numpy as np

from converter.caffe.layers.bn import is_pspnet, learns, per_channel, pspnet_eps
from converter.caffe.net import CaffeLayer
from converter.errors import ModelError
from converter.ir import Scale
from converter.lift.registry import converts, io


@converts("BN")
def bn(layer: CaffeLayer) -> Scale:
    if is_pspnet(layer):
        slope, bias, mean, var = (per_channel(layer, i) for i in range(4))
        gamma = (slope * (var + np.float32(pspnet_eps(layer))) ** np.float32(-0.5)).astype(np.float32)
        beta = (bias - mean * gamma).astype(np.float32)
        return Scale(**io(layer), gamma=gamma, beta=beta, axis=1)
    if learns(layer):
        raise ModelError("BN in LEARN mode (bn_mode's default) normalises by each batch's own mean and "
                         "variance, even at test time; this is not converted. Deploy nets set "
                         "bn_mode: INFERENCE (SegNet's compute_bn_statistics.py writes such a net)",
                         layer=layer.name)
    return Scale(**io(layer), gamma=per_channel(layer, 0), beta=per_channel(layer, 1), axis=1)
