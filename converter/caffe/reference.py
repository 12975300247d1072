"""The reference executor: runs a Caffe net with Caffe's semantics, in numpy.

It records what every top held right after its layer ran, keyed by (layer name, top name), the
same way `../shared/golden/*/blobs.npz` stores Caffe's own results (`layer|<layer>|<top>`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from converter.caffe.layers import LAYER_TYPES
from converter.caffe.net import CaffeLayer, CaffeNet
from converter.errors import ModelError

Adjust = Callable[[CaffeLayer, list[np.ndarray], list[np.ndarray]], list[np.ndarray]]
"""Given a layer, its bottoms and the tops it computed, the tops the run goes on with."""


def run_reference(
    net: CaffeNet, inputs: dict[str, np.ndarray], on_layer: Callable[[CaffeLayer], None] | None = None,
    adjust: Adjust | None = None,
) -> dict[tuple[str, str], np.ndarray]:
    """Every top of every layer, right after its layer ran; `on_layer` is told of each layer run.
    `adjust` may replace a layer's tops (verification follows another run's choice among tied
    maxima with it)."""
    blobs: dict[str, np.ndarray] = {}
    for name in net.inputs:
        if name not in inputs:
            raise ModelError(f"no value given for net input '{name}'")
        blobs[name] = np.ascontiguousarray(inputs[name], dtype=np.float32)
    recorded: dict[tuple[str, str], np.ndarray] = {}
    for layer in net.layers:
        bottoms = [blobs[b] for b in layer.bottoms]
        outputs = LAYER_TYPES[layer.type].forward(layer, bottoms)
        if adjust is not None:
            outputs = adjust(layer, bottoms, outputs)
        for top, value in zip(layer.tops, outputs, strict=True):
            blobs[top] = value
            recorded[(layer.name, top)] = value
        if on_layer is not None:
            on_layer(layer)
    return recorded
