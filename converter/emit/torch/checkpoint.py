"""A state_dict written as torch.save writes one, without importing torch: a zip archive, stored
(not compressed), holding

    archive/data.pkl                   the dict, pickled (protocol 2): each tensor is
                                       torch._utils._rebuild_tensor_v2(persistent storage id,
                                       offset 0, size, contiguous stride, False, OrderedDict())
                                       with the id ('storage', torch.<Type>Storage, key, 'cpu', numel)
    archive/byteorder                  "little"
    archive/data/<key>                 each storage's bytes, little-endian, starting 64-byte aligned
                                       (so `torch.load(..., mmap=True)` maps them in place)
    archive/version                    "3\\n", the format version torch.save writes
    archive/.data/serialization_id     a 40-digit id of the archive (here derived from its contents)

Each tensor's bytes go from its array to the output once (a mapped caffemodel's copied file to
file by the kernel), while another thread computes their CRC-32; the local headers' CRC fields
are filled in afterwards (the output is a regular file), so no data descriptors are needed. Entries
past 4 GiB use zip64 extra fields.
"""

from __future__ import annotations

import hashlib
import struct
import threading
from collections.abc import Callable, Mapping
from typing import BinaryIO

import numpy as np

from converter.mapped import crc32_of, little_endian, write_array

ALIGNMENT = 64
ARCHIVE = "archive"
FORMAT_VERSION = b"3\n"
ZIP64_LIMIT = 0xFFFFFFFF  # a size or offset at or past this needs zip64 fields
_PADDING_ID = 0x4246  # "FB", the id torch's own writer gives its alignment padding field
_ZIP64_ID = 0x0001

STORAGE_TYPES = {
    np.dtype(np.float32): "FloatStorage",
    np.dtype(np.float64): "DoubleStorage",
    np.dtype(np.float16): "HalfStorage",
    np.dtype(np.int64): "LongStorage",
    np.dtype(np.int32): "IntStorage",
    np.dtype(np.int16): "ShortStorage",
    np.dtype(np.int8): "CharStorage",
    np.dtype(np.uint8): "ByteStorage",
    np.dtype(np.bool_): "BoolStorage",
}


class _Pickle:
    """The few pickle opcodes (protocol 2) a state_dict of tensors needs; no memo."""

    def __init__(self) -> None:
        self.out = bytearray(b"\x80\x02")  # PROTO 2

    def text(self, value: str) -> None:
        data = value.encode()
        self.out += b"X" + struct.pack("<I", len(data)) + data  # BINUNICODE

    def integer(self, value: int) -> None:
        if 0 <= value < 1 << 8:
            self.out += b"K" + bytes([value])  # BININT1
        elif 0 <= value < 1 << 16:
            self.out += b"M" + struct.pack("<H", value)  # BININT2
        elif -(1 << 31) <= value < 1 << 31:
            self.out += b"J" + struct.pack("<i", value)  # BININT
        else:
            data = value.to_bytes((value.bit_length() + 8) // 8, "little", signed=True)
            self.out += b"\x8a" + bytes([len(data)]) + data  # LONG1

    def ints(self, values: tuple[int, ...]) -> None:
        self.out += b"("  # MARK
        for value in values:
            self.integer(value)
        self.out += b"t"  # TUPLE

    def global_(self, module: str, name: str) -> None:
        self.out += f"c{module}\n{name}\n".encode()


def pickled_state_dict(arrays: Mapping[str, np.ndarray]) -> bytes:
    """data.pkl for `arrays`, storage keys "0", "1", ... in the mapping's order."""
    p = _Pickle()
    p.out += b"}("  # EMPTY_DICT, MARK
    for key, (name, array) in enumerate(arrays.items()):
        if array.dtype.newbyteorder("=") not in STORAGE_TYPES:
            raise TypeError(f"state_dict entry {name}: no torch storage for dtype {array.dtype}")
        p.text(name)
        p.global_("torch._utils", "_rebuild_tensor_v2")
        p.out += b"(("  # MARK (arguments), MARK (persistent id)
        p.text("storage")
        p.global_("torch", STORAGE_TYPES[array.dtype.newbyteorder("=")])
        p.text(str(key))
        p.text("cpu")
        p.integer(array.size)
        p.out += b"tQ"  # TUPLE, BINPERSID
        p.integer(0)  # storage offset
        p.ints(tuple(array.shape))
        strides, step = [], 1
        for size in reversed(array.shape):
            strides.append(step)
            step *= size
        p.ints(tuple(reversed(strides)))
        p.out += b"\x89"  # NEWFALSE: requires_grad
        p.global_("collections", "OrderedDict")
        p.out += b")Rt"  # EMPTY_TUPLE, REDUCE (the backward hooks), TUPLE (the arguments)
        p.out += b"R"  # REDUCE
    p.out += b"u."  # SETITEMS, STOP
    return bytes(p.out)


class _ZipWriter:
    """Stored entries written one after another, each one's data 64-byte aligned; `close` writes
    the central directory."""

    def __init__(self, f: BinaryIO) -> None:
        self.f = f
        self.start = f.tell()
        self.entries: list[tuple[bytes, int, int, int]] = []  # name, header offset, size, crc

    def _local_header(self, name: bytes, offset: int, size: int, crc: int) -> bytes:
        zip64 = size >= ZIP64_LIMIT
        extra = struct.pack("<HHQQ", _ZIP64_ID, 16, size, size) if zip64 else b""
        unpadded = offset + 30 + len(name) + len(extra)
        padding = -unpadded % ALIGNMENT
        if padding:
            padding += ALIGNMENT if padding < 4 else 0  # room for the padding field's own 4-byte header
            extra += struct.pack("<HH", _PADDING_ID, padding - 4) + b"Z" * (padding - 4)
        stored_size = 0xFFFFFFFF if zip64 else size
        return struct.pack("<IHHHHHIIIHH", 0x04034B50, 45 if zip64 else 20, 0x800, 0, 0, 0x21, crc,
                           stored_size, stored_size, len(name), len(extra)) + name + extra

    def add(self, name: str, data: np.ndarray | bytes, on_chunk: Callable[[int], None] | None = None, *,
            crc_later: bool = False) -> None:
        """An entry holding `data` (an array's bytes, little-endian, C order); with `crc_later`, its
        CRC-32 is given afterwards (`set_crc`), so the bytes can be copied file to file."""
        encoded = f"{ARCHIVE}/{name}".encode()
        array = np.frombuffer(data, dtype=np.uint8) if isinstance(data, bytes) else little_endian(data)
        offset = self.f.tell() - self.start
        self.f.write(self._local_header(encoded, offset, array.nbytes, 0))
        crc = write_array(self.f, array, on_chunk, crc=None if crc_later else 0) or 0
        self.entries.append((encoded, offset, array.nbytes, 0))
        if crc:
            self.set_crc(len(self.entries) - 1, crc)

    def set_crc(self, index: int, crc: int) -> None:
        """Fill in the CRC-32 of entry `index` (its local header's field, and the directory's)."""
        name, offset, size, _ = self.entries[index]
        end = self.f.tell()
        self.f.seek(self.start + offset + 14)
        self.f.write(struct.pack("<I", crc))
        self.f.seek(end)
        self.entries[index] = (name, offset, size, crc)

    def close(self) -> None:
        directory_offset = self.f.tell() - self.start
        directory = bytearray()
        for name, offset, size, crc in self.entries:
            wide = ([size, size] if size >= ZIP64_LIMIT else []) + ([offset] if offset >= ZIP64_LIMIT else [])
            extra = struct.pack(f"<HH{len(wide)}Q", _ZIP64_ID, 8 * len(wide), *wide) if wide else b""
            stored_size = 0xFFFFFFFF if size >= ZIP64_LIMIT else size
            directory += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45 if wide else 20, 45 if wide else 20,
                                     0x800, 0, 0, 0x21, crc, stored_size, stored_size, len(name), len(extra),
                                     0, 0, 0, 0, min(offset, 0xFFFFFFFF)) + name + extra
        self.f.write(directory)
        count, size = len(self.entries), len(directory)
        if directory_offset >= ZIP64_LIMIT or count >= 0xFFFF or size >= ZIP64_LIMIT:
            record_offset = directory_offset + size
            self.f.write(struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, count, count, size,
                                     directory_offset))
            self.f.write(struct.pack("<IIQI", 0x07064B50, 0, record_offset, 1))
            count, size, directory_offset = min(count, 0xFFFF), min(size, 0xFFFFFFFF), 0xFFFFFFFF
        self.f.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, size,
                                 min(directory_offset, 0xFFFFFFFF), 0))


class _Checksums:
    """The CRC-32s of arrays, computed on a thread of their own (reading a mapped file's bytes with
    preadv and zlib.crc32 both release the GIL)."""

    def __init__(self, arrays: list[np.ndarray]) -> None:
        self._crcs: list[int] = []
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(arrays,), name="crc32", daemon=True)
        self._thread.start()

    def _run(self, arrays: list[np.ndarray]) -> None:
        try:
            self._crcs = [crc32_of(array) for array in arrays]
        except BaseException as error:  # raised again in the writing thread
            self._error = error

    def result(self) -> list[int]:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._crcs


def write_state_dict(f: BinaryIO, arrays: Mapping[str, np.ndarray],
                     on_chunk: Callable[[int], None] | None = None) -> None:
    """`arrays` as the state_dict torch.load(f, weights_only=True) returns (tensors of the same
    dtypes, shapes and values), written to the seekable binary file `f`; `on_chunk(n)` after each
    n bytes of tensor data."""
    pickled = pickled_state_dict(arrays)
    zip_file = _ZipWriter(f)
    zip_file.add("data.pkl", pickled)
    zip_file.add("byteorder", b"little")
    # The tensors' CRC-32s are computed on another thread while this one copies the same bytes.
    checksums = _Checksums(list(arrays.values()))
    first = len(zip_file.entries)
    for key, array in enumerate(arrays.values()):
        zip_file.add(f"data/{key}", array, on_chunk, crc_later=True)
    for index, crc in enumerate(checksums.result(), start=first):
        zip_file.set_crc(index, crc)
    zip_file.add("version", FORMAT_VERSION)
    # torch.save draws this at random; here it identifies the contents (pickle and every CRC).
    identity = hashlib.sha256(pickled + b"".join(struct.pack("<I", e[3]) for e in zip_file.entries)).digest()
    zip_file.add(".data/serialization_id", str(int.from_bytes(identity, "big") % 10**40).zfill(40).encode())
    zip_file.close()
