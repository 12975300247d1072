"""A state_dict as a safetensors file, written without the safetensors package: an 8-byte
little-endian header length, a JSON header ({name: {"dtype", "shape", "data_offsets": [begin,
end]}, "__metadata__": {...}}, offsets into the data that follows), padded with spaces so the data
starts 64-byte aligned, then every tensor's little-endian bytes back to back (the format allows no
gaps), each streamed once from its array.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable, Mapping
from typing import BinaryIO

import numpy as np

from converter.emit.torch.checkpoint import ALIGNMENT
from converter.mapped import write_array

DTYPES = {
    np.dtype(np.float32): "F32",
    np.dtype(np.float64): "F64",
    np.dtype(np.float16): "F16",
    np.dtype(np.int64): "I64",
    np.dtype(np.int32): "I32",
    np.dtype(np.int16): "I16",
    np.dtype(np.int8): "I8",
    np.dtype(np.uint8): "U8",
    np.dtype(np.bool_): "BOOL",
}


def safetensors_header(arrays: Mapping[str, np.ndarray], metadata: Mapping[str, str] | None = None) -> bytes:
    """The length prefix and the padded JSON header for `arrays`, stored in the mapping's order."""
    entries: dict[str, object] = {"__metadata__": dict(metadata or {"format": "pt"})}
    offset = 0
    for name, array in arrays.items():
        dtype = array.dtype.newbyteorder("=")
        if dtype not in DTYPES:
            raise TypeError(f"state_dict entry {name}: safetensors has no dtype for {array.dtype}")
        entries[name] = {"dtype": DTYPES[dtype], "shape": list(array.shape),
                         "data_offsets": [offset, offset + array.nbytes]}
        offset += array.nbytes
    text = json.dumps(entries, separators=(",", ":")).encode()
    text += b" " * (-(8 + len(text)) % ALIGNMENT)
    return struct.pack("<Q", len(text)) + text


def write_safetensors(f: BinaryIO, arrays: Mapping[str, np.ndarray],
                      on_chunk: Callable[[int], None] | None = None) -> None:
    """`arrays` as a safetensors file; `on_chunk(n)` after each n bytes of tensor data."""
    f.write(safetensors_header(arrays))
    for array in arrays.values():
        write_array(f, array, on_chunk)
