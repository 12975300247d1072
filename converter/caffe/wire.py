"""Protobuf wire format, just enough to move Caffe weight blobs without per-value Python objects.

A caffemodel is a binary `NetParameter`; nearly all its bytes are packed float32 runs inside
`BlobProto.data`. Walking the wire format by hand lets those runs become numpy views of the file
(memory-mapped), so a 500 MB model costs no more than its bytes. Field numbers are BVLC Caffe's,
the same as in protos/caffe.proto.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from converter.caffe.limits import MAX_BLOB_AXES, MAX_BLOB_ELEMENTS

VARINT, FIXED64, LEN, FIXED32 = 0, 1, 2, 5
_LITTLE_ENDIAN = sys.byteorder == "little"

# NetParameter
NET_LAYER, NET_LAYERS_V1 = 100, 2
# LayerParameter / V1LayerParameter / V0LayerParameter
LAYER_NAME, LAYER_TYPE, LAYER_BLOBS = 1, 2, 7
V1_NAME, V1_TYPE, V1_BLOBS, V1_V0_LAYER = 4, 5, 6, 1
V0_NAME, V0_TYPE, V0_BLOBS = 1, 2, 50
# BlobProto
BLOB_NUM, BLOB_CHANNELS, BLOB_HEIGHT, BLOB_WIDTH = 1, 2, 3, 4
BLOB_DATA, BLOB_SHAPE, BLOB_DOUBLE_DATA = 5, 7, 8
SHAPE_DIM = 1


class WireError(Exception):
    """Bytes that are not a well-formed protobuf message; the caller adds which file."""


def read_varint(buf: memoryview, pos: int, end: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= end:
            raise WireError(f"truncated varint at byte {pos}")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise WireError(f"varint longer than 10 bytes at byte {pos}")


def iter_fields(buf: memoryview, pos: int, end: int) -> Iterator[tuple[int, int, int, int]]:
    """Yield (field number, wire type, value or start, end) for each field in buf[pos:end].

    For VARINT the third item is the value; for the fixed and LEN types it is the payload start.
    """
    while pos < end:
        key, pos = read_varint(buf, pos, end)
        field, wire_type = key >> 3, key & 7
        if field == 0:
            raise WireError(f"field number 0 at byte {pos}")
        if wire_type == VARINT:
            value, pos = read_varint(buf, pos, end)
            yield field, wire_type, value, pos
        elif wire_type == LEN:
            length, start = read_varint(buf, pos, end)
            pos = start + length
            if pos > end:
                raise WireError(f"field {field} runs {pos - end} bytes past the end of its message")
            yield field, wire_type, start, pos
        elif wire_type in (FIXED32, FIXED64):
            start, pos = pos, pos + (4 if wire_type == FIXED32 else 8)
            if pos > end:
                raise WireError(f"truncated fixed-size field {field} at byte {start}")
            yield field, wire_type, start, pos
        else:
            raise WireError(f"invalid wire type {wire_type} at byte {pos}")


@dataclass
class RawBlob:
    """A BlobProto's data as a flat float32 array plus its declared shape.

    `legacy` is true when the shape came from num/channels/height/width rather than `shape`.
    """

    data: np.ndarray
    shape: tuple[int, ...]
    legacy: bool


def _read_blob(buf: memoryview, pos: int, end: int) -> RawBlob:
    float_runs: list[np.ndarray] = []
    double_runs: list[np.ndarray] = []
    loose_floats = array("f")  # unpacked floats (no writer makes them): 4 bytes each, not a Python float
    dims: list[int] = []
    legacy = {BLOB_NUM: 1, BLOB_CHANNELS: 1, BLOB_HEIGHT: 1, BLOB_WIDTH: 1}
    has_legacy = has_shape = False
    for field, wire_type, start, stop in iter_fields(buf, pos, end):
        if field == BLOB_DATA and wire_type == LEN:
            if (stop - start) % 4:
                raise WireError(f"packed float data of {stop - start} bytes is not a multiple of 4")
            float_runs.append(np.frombuffer(buf, dtype="<f4", count=(stop - start) // 4, offset=start))
        elif field == BLOB_DATA and wire_type == FIXED32:
            loose_floats.frombytes(bytes(buf[start:stop]) if _LITTLE_ENDIAN else bytes(buf[start:stop])[::-1])
        elif field == BLOB_DOUBLE_DATA and wire_type == LEN:
            if (stop - start) % 8:
                raise WireError(f"packed double data of {stop - start} bytes is not a multiple of 8")
            double_runs.append(np.frombuffer(buf, dtype="<f8", count=(stop - start) // 8, offset=start))
        elif field == BLOB_SHAPE and wire_type == LEN:
            has_shape = True
            for dim_field, dim_type, value, dim_end in iter_fields(buf, start, stop):
                if dim_field != SHAPE_DIM:
                    continue
                if dim_type == VARINT:
                    _add_dim(dims, value_as_int32(value))
                elif dim_type == LEN:
                    p = value
                    while p < dim_end:
                        d, p = read_varint(buf, p, dim_end)
                        _add_dim(dims, value_as_int32(d))
        elif field in legacy and wire_type == VARINT:
            legacy[field] = value_as_int32(start)
            has_legacy = True
    if double_runs:  # Caffe's Blob::FromProto reads double_data whenever there is any
        with np.errstate(over="ignore"):  # out-of-range values become inf, reported by the loader
            data = np.concatenate(double_runs).astype(np.float32) if len(double_runs) > 1 else (
                double_runs[0].astype(np.float32))
    elif loose_floats:
        data = np.frombuffer(loose_floats, dtype=np.float32)
    elif len(float_runs) == 1:
        data = float_runs[0]
    elif float_runs:
        data = np.concatenate(float_runs)
    else:
        data = np.zeros(0, dtype=np.float32)
    if has_shape:
        shape, is_legacy = tuple(int(d) for d in dims), False
    elif has_legacy:
        shape, is_legacy = tuple(legacy[k] for k in (BLOB_NUM, BLOB_CHANNELS, BLOB_HEIGHT, BLOB_WIDTH)), True
    else:
        shape, is_legacy = (int(data.size),), True
    return RawBlob(data=data, shape=shape, legacy=is_legacy)


def _add_dim(dims: list[int], dim: int) -> None:
    """One more axis of a blob shape, refused while reading if the shape could be no blob at all:
    more axes than Caffe allows, or a dimension past the largest blob (a few bytes can declare
    millions of axes of 2^62 each)."""
    if len(dims) >= MAX_BLOB_AXES:
        raise WireError(f"a blob shape with more than {MAX_BLOB_AXES} axes (Caffe allows at most {MAX_BLOB_AXES})")
    if dim > MAX_BLOB_ELEMENTS:
        raise WireError(f"a blob dimension of {dim}, more than the {MAX_BLOB_ELEMENTS:,} values any blob may hold")
    dims.append(dim)


def value_as_int32(value: int) -> int:
    """int32 and int64 fields encode negatives as 64-bit two's complement varints."""
    return value - (1 << 64) if value >= 1 << 63 else value


@dataclass
class RawLayer:
    name: str
    type: str
    blobs: list[RawBlob]


def _read_layer(buf: memoryview, pos: int, end: int, name_f: int, type_f: int, blobs_f: int) -> RawLayer:
    name, type_, blobs = "", "", []
    for field, wire_type, start, stop in iter_fields(buf, pos, end):
        if field == name_f and wire_type == LEN:
            name = bytes(buf[start:stop]).decode("utf-8", errors="replace")
        elif field == type_f:
            type_ = str(start) if wire_type == VARINT else bytes(buf[start:stop]).decode("utf-8", "replace")
        elif field == blobs_f and wire_type == LEN:
            blobs.append(_read_blob(buf, start, stop))
        elif field == V1_V0_LAYER and blobs_f == V1_BLOBS and wire_type == LEN:
            inner = _read_layer(buf, start, stop, V0_NAME, V0_TYPE, V0_BLOBS)
            name, type_, blobs = name or inner.name, type_ or inner.type, blobs or inner.blobs
    return RawLayer(name, type_, blobs)


def read_net_blobs(buf: memoryview) -> list[RawLayer]:
    """Every layer of a binary NetParameter with its blobs, in file order (V1 `layers` included).

    V1 layer types come back as their enum number in decimal, e.g. "4" for CONVOLUTION.
    """
    layers: list[RawLayer] = []
    for field, wire_type, start, stop in iter_fields(buf, 0, len(buf)):
        if wire_type != LEN:
            continue
        if field == NET_LAYER:
            layers.append(_read_layer(buf, start, stop, LAYER_NAME, LAYER_TYPE, LAYER_BLOBS))
        elif field == NET_LAYERS_V1:
            layers.append(_read_layer(buf, start, stop, V1_NAME, V1_TYPE, V1_BLOBS))
    return layers


# Writing


def encode_varint(value: int) -> bytes:
    if value < 0:
        value += 1 << 64
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def encode_key(field: int, wire_type: int) -> bytes:
    return encode_varint(field << 3 | wire_type)


def encode_len_header(field: int, length: int) -> bytes:
    return encode_key(field, LEN) + encode_varint(length)


def encode_blob(shape: tuple[int, ...], count: int) -> tuple[bytes, bytes]:
    """A BlobProto around `count` float32 values, as the bytes before and after them.

    Fields go in number order (data 5, then shape 7), as protobuf itself writes them.
    """
    dims = b"".join(encode_varint(d) for d in shape)
    shape_msg = encode_len_header(SHAPE_DIM, len(dims)) + dims
    return encode_len_header(BLOB_DATA, 4 * count), encode_len_header(BLOB_SHAPE, len(shape_msg)) + shape_msg
