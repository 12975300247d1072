"""BN: the fork layer of SegNet/ENet (alexgkendall/caffe-segnet, TimoSaemann/caffe-enet) and of
PSPNet (hszhao/PSPNet), per channel (axis 1) of a bottom of up to 4 axes, `bn_param`.

The two forks share the type name and the parameter message name but not the blobs:

- SegNet/ENet (bn_layer.cpp there): blobs scale (1, C, 1, 1) and shift (1, C, 1, 1).
  `bn_mode: INFERENCE`: y = x * scale + shift (the stored statistics were folded into scale and
  shift when the net was made a deploy net). `bn_mode: LEARN` (the message's default): the batch's
  own statistics, even at test time: mean = E[x] and var = E[x^2] - E[x]^2 over (N, H, W), then
  y = (x - mean) / sqrt(var + 1e-9) * scale + shift, in that order (eps is fixed, 1e-9).
- PSPNet (its bn_layer.cpp): blobs slope, bias, mean, variance, each (1, C, 1, 1); in the TEST phase
  (and whenever `frozen`) the stored statistics: y = (x - mean) * (var + eps)^-0.5 * slope + bias,
  `eps` from bn_param (default 1e-5).

Which fork a layer belongs to is read from its bn_param: any of PSPNet's own fields (slope_filler,
bias_filler, momentum, eps, frozen, engine) makes it PSPNet's four-blob layer, else SegNet's.
Only the first top is computed (SegNet's LEARN mode may write the batch mean and variance to
tops 2 and 3, which deploy nets do not use).
"""

from __future__ import annotations

import numpy as np

from converter.caffe.layers import register
from converter.caffe.layers.common import expect_count, fail
from converter.caffe.net import CaffeLayer, Shape

PSPNET_FIELDS = ("slope_filler", "bias_filler", "momentum", "eps", "frozen", "engine")
SEGNET_EPS = np.float32(1e-9)
PSPNET_DEFAULT_EPS = 1e-5


def _has(param: object, name: str) -> bool:
    """Whether the message has field `name` set (False when the schema in use lacks the field)."""
    return name in param.DESCRIPTOR.fields_by_name and param.HasField(name)  # type: ignore[attr-defined]


def is_pspnet(layer: CaffeLayer) -> bool:
    """PSPNet's four-blob BN (slope, bias, mean, variance) rather than SegNet's (scale, shift)."""
    p = layer.param.bn_param
    return any(_has(p, name) for name in PSPNET_FIELDS)


def learns(layer: CaffeLayer) -> bool:
    """SegNet's LEARN mode (batch statistics), the default when `bn_mode` is not given."""
    if is_pspnet(layer):
        return False
    p = layer.param.bn_param
    field = p.DESCRIPTOR.fields_by_name.get("bn_mode")
    return field is None or field.enum_type.values_by_number[p.bn_mode].name == "LEARN"


def pspnet_eps(layer: CaffeLayer) -> float:
    p = layer.param.bn_param
    return float(p.eps) if "eps" in p.DESCRIPTOR.fields_by_name else PSPNET_DEFAULT_EPS


def output_shapes(layer: CaffeLayer, bottoms: list[Shape]) -> list[Shape]:
    expect_count(layer, bottoms, tops_n=None)
    if len(layer.tops) != 1:
        raise fail(layer, f"BN: only the first top (the normalised blob) is converted; the layer names "
                          f"{len(layer.tops)} tops (the others are LEARN mode's batch mean and variance)")
    if not 2 <= len(bottoms[0]) <= 4:
        raise fail(layer, f"BN works on (num, channels[, height[, width]]) blobs, got {list(bottoms[0])}")
    if is_pspnet(layer) and pspnet_eps(layer) < 0:
        raise fail(layer, f"eps must be non-negative, got {pspnet_eps(layer):g}")
    return [bottoms[0]]


def blob_shapes(layer: CaffeLayer, bottoms: list[Shape]) -> list[Shape]:
    output_shapes(layer, bottoms)
    per_channel = (1, bottoms[0][1], 1, 1)
    return [per_channel] * (4 if is_pspnet(layer) else 2)


def per_channel(layer: CaffeLayer, index: int) -> np.ndarray:
    """Blob `index` as a (C,) float32 vector."""
    return np.asarray(layer.blobs[index], np.float32).reshape(-1)


def forward(layer: CaffeLayer, inputs: list[np.ndarray]) -> list[np.ndarray]:
    (x,) = inputs
    x = np.asarray(x, np.float32)
    output_shapes(layer, [tuple(x.shape)])
    at_channel = (1, -1) + (1,) * (x.ndim - 2)
    if is_pspnet(layer):
        slope, bias, mean, var = (per_channel(layer, i).reshape(at_channel) for i in range(4))
        inv_std = (var + np.float32(pspnet_eps(layer))) ** np.float32(-0.5)
        return [(((x - mean) * inv_std) * slope + bias).astype(np.float32)]
    scale, shift = (per_channel(layer, i).reshape(at_channel) for i in range(2))
    if not learns(layer):
        return [(x * scale + shift).astype(np.float32)]
    axes = (0, *range(2, x.ndim))
    mean = x.mean(axis=axes, dtype=np.float32, keepdims=True)
    var = (x * x).mean(axis=axes, dtype=np.float32, keepdims=True) - mean * mean
    y = (x - mean) / np.sqrt(var + SEGNET_EPS)
    return [(y * scale + shift).astype(np.float32)]


register("BN", output_shapes=output_shapes, forward=forward, blob_shapes=blob_shapes, in_place=True)
