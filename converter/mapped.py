"""Input files mapped into memory, and where an array's bytes lie in one of them.

Weights read from a caffemodel are numpy views of its memory map. A writer that knows a view's
file and offset copies those bytes file to file inside the kernel (`copy_file_range`: no page of
the input mapped into this process, no copy through user memory; a reflink on file systems that
share extents), and a check that reads every value (finiteness) can give its pages back to the
page cache as it goes, so the input is never resident in this process as a whole.
"""

from __future__ import annotations

import contextlib
import errno
import mmap
import os
import threading
import weakref
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from converter.errors import ConverterError

PAGE = mmap.PAGESIZE
_COPY_CHUNK = 64 << 20
_WRITE_CHUNK = 16 << 20  # chunked writes from a memory map are much faster than one giant write
_READ_CHUNK = 1 << 20  # read, then checksummed or written while in the CPU's cache
# copy_file_range errors that mean "not between these files", not a failed read or write.
_UNSUPPORTED = {errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EBADF,
                errno.EPERM}


@dataclass(frozen=True)
class _Mapping:
    mapping: weakref.ref[mmap.mmap]
    start: int  # address of the mapping's first byte
    length: int
    fd: int  # a descriptor of the mapped file, open while the mapping lives
    path: Path


@dataclass(frozen=True)
class FileExtent:
    """`length` bytes of a mapped input file from `offset`."""

    fd: int
    offset: int
    length: int
    path: Path


_mappings: list[_Mapping] = []
_lock = threading.Lock()


def register(mapping: mmap.mmap, fd: int, path: Path) -> None:
    """Remember a whole-file read-only `mapping` of the open file `fd` (duplicated here; closed
    when the mapping is collected)."""
    if len(mapping) == 0:
        return
    start = np.frombuffer(mapping, dtype=np.uint8, count=1).ctypes.data
    own_fd = os.dup(fd)
    entry = _Mapping(weakref.ref(mapping), start, len(mapping), own_fd, Path(path))
    with _lock:
        _mappings.append(entry)
    weakref.finalize(mapping, _forget, entry)


def _forget(entry: _Mapping) -> None:
    with _lock:
        if entry in _mappings:
            _mappings.remove(entry)
    os.close(entry.fd)


def _containing(address: int, length: int) -> tuple[_Mapping, mmap.mmap] | None:
    with _lock:
        entries = list(_mappings)
    for entry in entries:
        mapping = entry.mapping()
        # A live mapping owns its address range: an array inside it is a view of it.
        if mapping is not None and entry.start <= address and address + length <= entry.start + entry.length:
            return entry, mapping
    return None


def _shrank(extent: FileExtent) -> ConverterError:
    return ConverterError(f"{extent.path}: changed while squeeze-convert was reading it (truncated?); "
                          "nothing was written")


def extent_of(array: np.ndarray) -> FileExtent | None:
    """Where the bytes of `array` (C-contiguous, little-endian) lie in a mapped input file, or None
    when they are not a plain run of one."""
    if array.nbytes == 0 or not array.flags.c_contiguous or array.dtype.newbyteorder("<") != array.dtype:
        return None
    address = array.ctypes.data
    found = _containing(address, array.nbytes)
    if found is None:
        return None
    entry, _ = found
    return FileExtent(entry.fd, address - entry.start, array.nbytes, entry.path)


def release_pages(array: np.ndarray) -> None:
    """Unmap from this process the pages of a mapped input that hold `array` (they stay in the page
    cache; a later read maps them again). A no-op for an array that is not a view of one."""
    if array.nbytes == 0:
        return
    found = _containing(array.ctypes.data, array.nbytes)
    if found is None or not hasattr(mmap, "MADV_DONTNEED"):
        return
    entry, mapping = found
    begin = (array.ctypes.data - entry.start) // PAGE * PAGE
    end = min(entry.length, array.ctypes.data - entry.start + array.nbytes)
    with contextlib.suppress(OSError, ValueError):
        mapping.madvise(mmap.MADV_DONTNEED, begin, end - begin)


def chunks(array: np.ndarray, nbytes: int = 16 << 20) -> Iterator[np.ndarray]:
    """The array, flattened, in pieces of about `nbytes`, each piece's mapped pages released once
    the caller is done with it (so reading a whole mapped file never makes it resident at once)."""
    flat = array.reshape(-1)
    step = max(1, nbytes // max(1, flat.itemsize))
    for begin in range(0, flat.size, step):
        piece = flat[begin: begin + step]
        yield piece
        release_pages(piece)


def copy_extent(f: BinaryIO, extent: FileExtent, on_chunk: Callable[[int], None] | None = None) -> bool:
    """Append the extent's bytes to the file `f` (a buffered binary file, flushed first) by
    copy_file_range; False (nothing written) when the kernel cannot copy between these two files,
    so the caller writes them itself."""
    copy = getattr(os, "copy_file_range", None)
    if copy is None:
        return False
    f.flush()
    out = f.fileno()
    offset, remaining, first = extent.offset, extent.length, True
    while remaining:
        try:
            copied = copy(extent.fd, out, min(remaining, _COPY_CHUNK), offset)
        except OSError as error:
            if first and error.errno in _UNSUPPORTED:
                return False
            note = getattr(f, "note_write_error", None)  # a full disk is named as a failed write
            if note is not None:
                note(error)
            raise
        if copied == 0:
            raise _shrank(extent)
        first = False
        offset += copied
        remaining -= copied
        if on_chunk is not None:
            on_chunk(copied)
    f.seek(0, os.SEEK_END)  # the buffered file's own position follows the descriptor's
    return True


def read_extent(extent: FileExtent, buffer: memoryview) -> Iterator[memoryview]:
    """The extent's bytes in pieces read into `buffer` (each piece valid until the next)."""
    offset, end = extent.offset, extent.offset + extent.length
    while offset < end:
        piece = buffer[: min(len(buffer), end - offset)]
        got = os.preadv(extent.fd, [piece], offset)
        if got == 0:
            raise _shrank(extent)
        yield piece[:got]
        offset += got


def little_endian(array: np.ndarray) -> np.ndarray:
    """The array C-contiguous and little-endian: itself (a view of a mapped file stays one) when
    it already is."""
    return np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<"))


def pieces(array: np.ndarray) -> Iterator[memoryview]:
    """The bytes of `array` (C order, little-endian) in pieces: a mapped input's read into a
    cache-sized buffer (each piece valid until the next; nothing of the input made resident),
    others sliced from memory."""
    array = little_endian(array)
    extent = extent_of(array)
    if extent is not None and hasattr(os, "preadv"):
        yield from read_extent(extent, memoryview(bytearray(_READ_CHUNK)))
        return
    data = memoryview(array.reshape(-1)).cast("B")
    for begin in range(0, len(data), _WRITE_CHUNK):
        yield data[begin: begin + _WRITE_CHUNK]


def write_array(f: BinaryIO, array: np.ndarray, on_chunk: Callable[[int], None] | None = None,
                crc: int | None = None) -> int | None:
    """Append the bytes of `array` (C order, little-endian) to `f`; with `crc` (a start value),
    return the CRC-32 of what was written, computed on the way. Without one, bytes that lie in a
    mapped input are copied file to file by the kernel."""
    array = little_endian(array)
    if crc is None and (extent := extent_of(array)) is not None and copy_extent(f, extent, on_chunk):
        return None
    for piece in pieces(array):
        if crc is not None:
            crc = zlib.crc32(piece, crc)
        f.write(piece)
        if on_chunk is not None:
            on_chunk(len(piece))
    return crc


def crc32_of(array: np.ndarray) -> int:
    """The CRC-32 of the array's bytes (C order, little-endian)."""
    crc = 0
    for piece in pieces(array):
        crc = zlib.crc32(piece, crc)
    return crc
