"""Song Han's Deep Compression format (`compressed_SqueezeNet.net`): pruned, codebook-quantised weights.

Layout (../shared/docs/deep-compression-format.md): the parameterised layers whose names contain
"conv", "fc" or "ip", in prototxt order (L of them); L little-endian uint32 counts `nz` of stored
entries; then per layer a float32 codebook (256 entries for conv layers, else 16), the float32 bias
(num_output), the codes (8 or 4 bits each, low nibble first) and the gaps (4 bits each, low nibble
first: distance minus one from the previous stored entry). Weights are rebuilt as
codebook[code] with code 0 everywhere no entry is stored.

The format has no magic number to recognise it by, so a file is taken as Deep Compression when its
first L uint32 values are counts that fit the prototxt's layers (1..size of each weight) and its size
is exactly what the layout predicts for them. A file whose counts fit but whose size does not is
reported as damaged Deep Compression weights (expected vs found size), whatever its extension.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from converter.caffe.layers import LAYER_TYPES, expected_blobs
from converter.caffe.net import CaffeLayer, CaffeNet
from converter.caffe.wire import RawBlob, RawLayer
from converter.errors import ConverterError, WeightsError
from converter.fileio import open_input, read_input_bytes


@dataclass
class QuantizedLayer:
    """One layer as stored, kept in codebook form for compact exports."""

    name: str
    weight_shape: tuple[int, ...]
    codebook: np.ndarray  # float32, 2**bits entries
    bias: np.ndarray
    bits: int
    count: int  # stored entries (nz)
    packed_codes: np.ndarray  # uint8, as in the file: one code a byte, or two 4-bit codes (low nibble first)
    packed_gaps: np.ndarray  # uint8, as in the file: two 4-bit gaps a byte (low nibble first)
    codes: np.ndarray  # uint8 code per weight value (0 where nothing is stored)

    def weight(self) -> np.ndarray:
        return self.codebook[self.codes].reshape(self.weight_shape)


def quantized_layers(net: CaffeNet) -> list[CaffeLayer]:
    """The layers the file stores, in order: parameterised, named like conv/fc/ip."""
    found = []
    for layer in net.layers:
        if LAYER_TYPES[layer.type].blob_shapes is None:
            continue
        if any(key in layer.name for key in ("conv", "fc", "ip")):
            found.append(layer)
    return found


def _bits(layer: CaffeLayer) -> int:
    return 8 if "conv" in layer.name else 4


def _shapes(layer: CaffeLayer) -> tuple[tuple[int, ...], int]:
    shapes = expected_blobs(layer)
    if len(shapes) != 2:
        raise WeightsError("Deep Compression stores a weight and a bias per layer; this layer has "
                           f"{len(shapes)} blobs", layer=layer.name)
    return shapes[0], math.prod(shapes[1])


def _predicted_size(layers: list[CaffeLayer], counts: np.ndarray) -> int:
    size = 4 * len(layers)
    for layer, nz in zip(layers, counts, strict=True):
        bits = _bits(layer)
        _, outputs = _shapes(layer)
        size += 4 * (2**bits) + 4 * outputs + ((int(nz) - 1) // (8 // bits) + 1) + ((int(nz) - 1) // 2 + 1)
    return size


def _misfit(layers: list[CaffeLayer], counts: np.ndarray) -> tuple[CaffeLayer, int, int] | None:
    """The first layer whose stored count is 0 or more than its weight holds, with that count and the
    weight's size; None when every count fits."""
    for layer, nz in zip(layers, counts, strict=True):
        size = math.prod(_shapes(layer)[0])
        if nz == 0 or nz > size:
            return layer, int(nz), size
    return None


def _counts_if_they_fit(path: Path, net: CaffeNet) -> tuple[np.ndarray, int] | None:
    """The header's counts and the file size, if every count fits its layer's weight; else None."""
    layers = quantized_layers(net)
    try:
        with open_input(path) as f:
            size = os.fstat(f.fileno()).st_size
            head = f.read(4 * len(layers))
    except (OSError, ConverterError):
        return None
    if not layers or len(head) < 4 * len(layers):
        return None
    if any(len(expected_blobs(layer)) != 2 for layer in layers):
        return None
    counts = np.frombuffer(head, "<u4", len(layers))
    return None if _misfit(layers, counts) else (counts, size)


def looks_like_deep_compression(path: Path, net: CaffeNet) -> bool:
    """The header fits the net's layers and the size is exactly what the layout predicts."""
    found = _counts_if_they_fit(path, net)
    return found is not None and _predicted_size(quantized_layers(net), found[0]) == found[1]


def has_deep_compression_header(path: Path, net: CaffeNet) -> bool:
    """The first values are counts that fit the net's layers, whatever the file's size: a damaged
    Deep Compression file rather than something else (a caffemodel starts with a protobuf tag and a
    name, which read as counts far beyond any SqueezeNet layer's size)."""
    return _counts_if_they_fit(path, net) is not None


def _nibbles(raw: np.ndarray, count: int) -> np.ndarray:
    pairs = np.empty(raw.size * 2, np.uint8)
    pairs[0::2], pairs[1::2] = raw & 0x0F, raw >> 4
    return pairs[:count]


def decode(data: bytes, net: CaffeNet, origin: str = "<bytes>") -> list[QuantizedLayer]:
    layers = quantized_layers(net)
    if not layers:
        raise WeightsError(f"{origin}: the net has no conv/fc/ip layers for Deep Compression weights")
    if len(data) < 4 * len(layers):
        raise WeightsError(f"{origin}: {len(data)} bytes cannot hold the {len(layers)} layer counts")
    counts = np.frombuffer(data, "<u4", len(layers))
    misfit = _misfit(layers, counts)
    if misfit:
        layer, nz, size = misfit
        raise WeightsError(f"{origin}: stores {nz} entries for a weight of {size} values: not the Deep "
                           "Compression weights of this net", layer=layer.name)
    expected = _predicted_size(layers, counts)
    if expected != len(data):
        raise WeightsError(f"{origin}: {len(data):,} bytes, but Deep Compression weights for this prototxt's "
                           f"{len(layers)} layers take {expected:,} bytes: not the weights of this net")
    pos = 4 * len(layers)
    decoded = []
    for layer, nz in zip(layers, (int(n) for n in counts), strict=True):
        bits = _bits(layer)
        weight_shape, outputs = _shapes(layer)

        def take(count: int, dtype: str) -> np.ndarray:
            nonlocal pos
            size = count * np.dtype(dtype).itemsize
            chunk = np.frombuffer(data, dtype, count, pos)
            pos += size
            return chunk

        codebook = take(2**bits, "<f4").astype(np.float32)
        bias = take(outputs, "<f4").astype(np.float32)
        raw_codes = take((nz - 1) // (8 // bits) + 1, "u1")
        raw_gaps = take((nz - 1) // 2 + 1, "u1")
        codes = raw_codes[:nz] if bits == 8 else _nibbles(raw_codes, nz)
        positions = np.cumsum(_nibbles(raw_gaps, nz).astype(np.int64) + 1) - 1
        size = math.prod(weight_shape)
        if positions[-1] >= size:
            raise WeightsError(f"{origin}: stored entries run past the weight's {size} values", layer=layer.name)
        full = np.zeros(size, np.uint8)
        full[positions] = codes
        decoded.append(QuantizedLayer(layer.name, weight_shape, codebook, bias, bits, nz, raw_codes, raw_gaps, full))
    return decoded


def read_deep_compression(path: Path, net: CaffeNet) -> dict[str, RawLayer]:
    data = read_input_bytes(path)
    return {q.name: RawLayer(q.name, "", [RawBlob(q.weight().reshape(-1), q.weight_shape, False),
                                          RawBlob(q.bias, q.bias.shape, False)])
            for q in decode(data, net, str(path))}
