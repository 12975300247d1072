"""Whole golden nets run layer by layer from Caffe's input through these forwards alone (no loader).

Every blob Caffe stored, including the final outputs and, for the real-weights cat image, the
top-5 classes, must agree with real Caffe; errors compound here, unlike the per-layer tests.
"""

from __future__ import annotations

import numpy as np
import pytest

from caffe_layers.helpers import CASES, assert_close, golden
from converter.caffe.layers import LAYER_TYPES
from converter.caffe.net import CaffeLayer


def chain(case: str) -> dict[str, np.ndarray]:
    """Run every layer of `case` in Caffe's order, checking each stored top."""
    info, blobs, params, weights = golden(case)
    values = {info["input_name"]: blobs[f"input|{info['input_name']}"]}
    for record in info["layers"]:
        param = params[record["name"]]
        layer = CaffeLayer(param.name, param.type, list(param.bottom), list(param.top), param,
                           weights.get(param.name, []), [tuple(values[b].shape) for b in param.bottom])
        kind = LAYER_TYPES[layer.type]
        assert kind.output_shapes(layer, layer.bottom_shapes) == [tuple(s) for s in record["shapes"]], layer.name
        outputs = kind.forward(layer, [values[b] for b in layer.bottoms])
        for top, value in zip(layer.tops, outputs, strict=True):
            values[top] = value
            key = f"layer|{layer.name}|{top}"
            if key in blobs:
                assert_close(value, blobs[key], key)
    for key in blobs:
        if key.startswith("output|"):
            assert_close(values[key.split("|", 1)[1]], blobs[key], key)
    return values


@pytest.mark.parametrize("case", CASES)
def test_net_matches_caffe_end_to_end(case: str) -> None:
    values = chain(case)
    info = golden(case)[0]
    if info.get("top5"):
        prob = values[info["outputs"][0]].reshape(-1)
        assert list(np.argsort(-prob)[:5]) == info["top5"]
