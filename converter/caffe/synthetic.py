"""Deterministic synthetic weights for a net definition, for demos, tests and benchmarks.

Convolution and InnerProduct weights are He-uniform (bound sqrt(6 / fan_in)), biases small;
BatchNorm statistics are plausible (variance near 1, scale factor 1); anything else is small noise.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from converter.caffe.caffemodel import write_caffemodel
from converter.caffe.layers import LAYER_TYPES
from converter.caffe.loader import build_net
from converter.caffe.net import CaffeNet, Shape
from converter.caffe.prototxt import parse_prototxt
from converter.caffe.upgrade import upgrade_net


def synthetic_blobs(net: CaffeNet, seed: int = 0) -> dict[str, list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    weights: dict[str, list[np.ndarray]] = {}
    for layer in net.layers:
        blob_shapes = LAYER_TYPES[layer.type].blob_shapes
        if blob_shapes is None:
            continue
        blobs = []
        for i, shape in enumerate(blob_shapes(layer, layer.bottom_shapes)):
            blobs.append(_blob(layer.type, i, tuple(shape), rng))
        weights[layer.name] = blobs
    return weights


def _blob(layer_type: str, index: int, shape: Shape, rng: np.random.Generator) -> np.ndarray:
    def uniform(low: float, high: float) -> np.ndarray:
        return rng.uniform(low, high, size=shape).astype(np.float32)

    if layer_type == "BatchNorm":
        return [uniform(-0.1, 0.1), uniform(0.5, 1.5), np.ones(shape, np.float32)][min(index, 2)]
    if layer_type == "Scale":
        return uniform(0.5, 1.5) if index == 0 else uniform(-0.1, 0.1)
    if layer_type == "PReLU":
        return uniform(0.05, 0.3)
    if index == 0 and layer_type in ("Convolution", "ConvolutionDepthwise", "Deconvolution", "InnerProduct") \
            and len(shape) >= 2:
        fan_in = math.prod(shape[1:]) if layer_type != "InnerProduct" or len(shape) == 2 else shape[-1]
        bound = math.sqrt(6.0 / max(fan_in, 1))
        return uniform(-bound, bound)
    return uniform(-0.1, 0.1)


def write_synthetic_weights(
    prototxt: str | Path,
    output: str | Path,
    seed: int = 0,
    input_shapes: Mapping[str, Shape] | None = None,
) -> None:
    proto = upgrade_net(parse_prototxt(prototxt))
    net = build_net(proto, input_shapes)
    write_caffemodel(output, proto, synthetic_blobs(net, seed))
