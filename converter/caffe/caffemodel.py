"""Reading and writing .caffemodel files (binary NetParameter with weight blobs).

Reading memory-maps the file and returns numpy views of its float runs: nothing is copied and
the file is opened read-only. Writing streams each blob's bytes straight to disk.
"""

from __future__ import annotations

import contextlib
import mmap
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from converter import mapped
from converter.caffe import caffe_pb2
from converter.caffe.wire import (
    LAYER_BLOBS,
    NET_LAYER,
    RawLayer,
    WireError,
    encode_blob,
    encode_len_header,
    read_net_blobs,
)
from converter.errors import WeightsError
from converter.fileio import atomic_output, guard_mapped_input, open_input

_MAPPINGS: weakref.WeakSet[mmap.mmap] = weakref.WeakSet()  # caffemodels mapped, while their arrays live


def release_mapped_pages() -> None:
    """Drop the pages of every mapped caffemodel from this process's resident memory (they stay in the
    page cache, and come back on the next read): between the runs of a verification, so that a run
    holding its own copy of the weights (ONNX Runtime) does not count them twice."""
    for mapping in list(_MAPPINGS):
        if not mapping.closed and hasattr(mapping, "madvise"):
            with contextlib.suppress(OSError, ValueError):
                mapping.madvise(mmap.MADV_DONTNEED)


def read_caffemodel(path: str | Path) -> dict[str, RawLayer]:
    """Layers of a caffemodel by name, with their blobs as read-only float32 arrays."""
    path = Path(path)
    try:
        with open_input(path) as f:
            size = f.seek(0, 2)
            if size == 0:
                raise WeightsError(f"{path}: empty file")
            guard_mapped_input(path)
            mapping = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
            _MAPPINGS.add(mapping)
            mapped.register(mapping, f.fileno(), path)
            buf = memoryview(mapping)
    except OSError as error:
        raise WeightsError(f"{path}: cannot read ({error.strerror or error})") from None
    try:
        layers = read_net_blobs(buf)
    except WireError as error:
        raise WeightsError(f"{path}: not a readable caffemodel ({error})") from None
    # Caffe copies the source layers in file order, so of two layers with one name the last wins.
    return {layer.name: layer for layer in layers if layer.blobs}


def _layer_bytes_without_blobs(layer: caffe_pb2.LayerParameter) -> bytes:
    bare = caffe_pb2.LayerParameter()
    bare.CopyFrom(layer)
    del bare.blobs[:]
    return bare.SerializeToString()


def write_caffemodel(
    path: str | Path,
    net: caffe_pb2.NetParameter,
    weights: Mapping[str, Sequence[np.ndarray]],
) -> None:
    """Write `net`'s layers with `weights[layer name]` as their blobs, atomically.

    Each layer message is the serialized LayerParameter followed by its blob fields; protobuf
    concatenation semantics make that one valid message, and big arrays go to disk without copies.
    """
    header = caffe_pb2.NetParameter()
    header.CopyFrom(net)
    del header.layer[:]
    del header.layers[:]
    with atomic_output(Path(path)) as f:
        f.write(header.SerializeToString())
        for layer in net.layer:
            body = _layer_bytes_without_blobs(layer)
            arrays = [np.asarray(b, dtype="<f4") for b in weights.get(layer.name, ())]
            # Shapes from before ascontiguousarray, which turns a 0-axis (scalar) blob into (1,).
            framing = [encode_blob(tuple(a.shape), a.size) for a in arrays]
            blobs = [np.ascontiguousarray(a) for a in arrays]
            blob_sizes = [len(head) + b.nbytes + len(tail) for (head, tail), b in zip(framing, blobs, strict=True)]
            layer_size = len(body) + sum(len(encode_len_header(LAYER_BLOBS, s)) + s for s in blob_sizes)
            f.write(encode_len_header(NET_LAYER, layer_size))
            f.write(body)
            for blob, (head, tail), blob_size in zip(blobs, framing, blob_sizes, strict=True):
                f.write(encode_len_header(LAYER_BLOBS, blob_size))
                f.write(head)
                f.write(memoryview(blob).cast("B"))
                f.write(tail)
