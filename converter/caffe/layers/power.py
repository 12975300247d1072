"""Power: y = (shift + scale * x) ^ power; defaults power 1, scale 1, shift 0.

When scale or power is 0 Caffe fills the top with a constant: 1 if power is 0, else shift ^ power.
A negative base with a non-integer power gives NaN, as std::pow does.
"""

from __future__ import annotations

import numpy as np

from converter.caffe.layers import register
from converter.caffe.layers.common import same_shape
from converter.caffe.net import CaffeLayer


def power(x: np.ndarray, power: float, scale: float, shift: float) -> np.ndarray:
    p, a, b = np.float32(power), np.float32(scale), np.float32(shift)
    if a == 0 or p == 0:
        value = np.float32(1) if p == 0 else np.power(b, p)
        return np.full(x.shape, value, dtype=np.float32)
    y = x * a if a != 1 else x.copy()
    if b != 0:
        y += b
    if p != 1:
        with np.errstate(invalid="ignore", divide="ignore"):
            y = np.power(y, p)
    return y.astype(np.float32, copy=False)


def forward(layer: CaffeLayer, inputs: list[np.ndarray]) -> list[np.ndarray]:
    (x,) = inputs
    p = layer.param.power_param
    return [power(np.asarray(x, dtype=np.float32), p.power, p.scale, p.shift)]


register("Power", output_shapes=same_shape, forward=forward, in_place=True)
