"""Caffe InnerProduct -> Dense; `transpose: true` weights (K, N) are turned to (N, K)."""

import numpy as np

from converter.caffe.net import CaffeLayer
from converter.ir import Dense
from converter.lift.registry import converts, io


@converts("InnerProduct")
def inner_product(layer: CaffeLayer) -> Dense:
    p = layer.param.inner_product_param
    weight = layer.blobs[0]
    if p.transpose:
        weight = np.ascontiguousarray(weight.T)
    return Dense(**io(layer), weight=weight, bias=layer.blobs[1] if p.bias_term else None,
                 axis=p.axis % len(layer.bottom_shapes[0]))
