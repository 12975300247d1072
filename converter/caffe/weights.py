"""Weights by layer name (a caffemodel, or a Deep Compression file recognised by content) attached
to a net's layers, each blob checked against the shape Caffe's rules give it."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from converter import mapped
from converter.caffe import deep_compression
from converter.caffe.caffemodel import read_caffemodel
from converter.caffe.layers import expected_blobs
from converter.caffe.net import CaffeNet, Shape
from converter.caffe.wire import RawLayer
from converter.errors import WeightsError
from converter.fileio import read_input_bytes


def _fit_blob(raw_shape: Shape, legacy: bool, data: np.ndarray, expected: Shape) -> np.ndarray | None:
    """The blob reshaped to `expected` if Caffe would accept it, else None."""
    if data.size != math.prod(raw_shape) or data.size != math.prod(expected):
        return None
    if tuple(raw_shape) == tuple(expected):
        return data.reshape(expected)
    # Old files give every blob as num/channels/height/width, e.g. a bias as (1, 1, 1, N).
    if legacy and len(expected) <= 4 and tuple(raw_shape) == (1,) * (4 - len(expected)) + tuple(expected):
        return data.reshape(expected)
    return None


def _all_finite(data: np.ndarray) -> bool:
    """Whether no value is NaN or infinite, without a boolean array the size of the blob.

    A sum is NaN or infinite if any term is; one that overflows from finite terms alone is
    rechecked value by value. Read in pieces whose pages of a mapped caffemodel are released as
    it goes: the check does not make the whole file resident in this process.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        for piece in mapped.chunks(data):
            if not np.isfinite(piece.sum()) and not np.isfinite(piece).all():
                return False
    return True


def layers_with_parameters(net: CaffeNet) -> list[str]:
    """The layers whose weights a caffemodel must supply."""
    return [layer.name for layer in net.layers if expected_blobs(layer)]


def attach_weights(net: CaffeNet, weights: Mapping[str, RawLayer], origin: str) -> None:
    # Layers that hold blobs; a two-bottom Scale without bias or a two-bottom Bias has none.
    wanted = [(layer, expected) for layer in net.layers if (expected := expected_blobs(layer))]
    if wanted and not any(layer.param.name in weights for layer, _ in wanted):
        raise WeightsError(f"{origin} has no weights for any layer of this net (it holds "
                           f"{', '.join(list(weights)[:6]) or 'no layers with weights'}...): "
                           "is it the caffemodel of another net?")
    for layer, expected in wanted:
        if not layer.receives_weights:
            raise WeightsError(f"an earlier layer is also named '{layer.param.name}', and Caffe copies a caffemodel's "
                               "weights only into the first layer of a name (Net::CopyTrainedLayersFrom): this one "
                               "keeps its filler's initial values, which cannot be reproduced; give the layers "
                               "distinct names", layer=layer.name)
        raw = weights.get(layer.param.name)
        if raw is None:
            raise WeightsError(f"{origin} holds no weights for this layer", layer=layer.name)
        if len(raw.blobs) != len(expected):
            raise WeightsError(f"expected {len(expected)} blobs {[list(s) for s in expected]}, "
                               f"{origin} holds {len(raw.blobs)} {[list(b.shape) for b in raw.blobs]}",
                               layer=layer.name)
        blobs = []
        for i, (blob, shape) in enumerate(zip(raw.blobs, expected, strict=True)):
            fitted = _fit_blob(blob.shape, blob.legacy, blob.data, shape)
            if fitted is None:
                count = (f"{blob.data.size} values" if blob.data.size == math.prod(blob.shape) else
                         f"but {blob.data.size} values, not the {math.prod(blob.shape)} that shape holds")
                raise WeightsError(f"blob {i} should have shape {list(shape)}, {origin} has "
                                   f"{list(blob.shape)} ({count})", layer=layer.name)
            if not _all_finite(fitted):
                bad = int(np.size(fitted) - np.count_nonzero(np.isfinite(fitted)))
                raise WeightsError(f"blob {i} holds {bad} NaN or infinite values", layer=layer.name)
            blobs.append(fitted)
        layer.blobs = blobs


def read_weights(path: Path, net: CaffeNet) -> Mapping[str, RawLayer]:
    """Weights by layer name from a caffemodel, or from a Deep Compression file, recognised by
    content (whatever the extension): its header fits this net's layers and its size is exactly
    what the layout predicts."""
    if deep_compression.looks_like_deep_compression(path, net):
        return deep_compression.read_deep_compression(path, net)
    try:
        return read_caffemodel(path)
    except WeightsError:
        # Explain why it is not this net's Deep Compression file either: named like one, or with a
        # header that fits this net (then the size is what is wrong).
        if path.suffix == ".net" or deep_compression.has_deep_compression_header(path, net):
            deep_compression.decode(read_input_bytes(path), net, str(path))
        raise
