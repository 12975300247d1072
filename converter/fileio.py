"""Files: outputs written safely, progress bars for long writes, and source files hashed in the
background.

Outputs go to a temporary file in the target directory, renamed into place only once complete,
so a failure or interruption never leaves a half-written file and no process ever reads a partial
one. They are not fsync'ed, like `cp`, `torch.save` and `onnx.save`: flushing to the disk is left to
the operating system, so a power cut shortly after a conversion can lose the new file (an
existing file it replaced may then be lost as well on some file systems) but never exposes a
half-written one under the final name.
"""

from __future__ import annotations

import contextlib
import hashlib
import mmap
import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from converter.errors import ConverterError, OutputError


@contextlib.contextmanager
def atomic_output(path: Path) -> Iterator[BinaryIO]:
    directory = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=directory)
    except OSError as error:
        raise OutputError(f"cannot write in {directory}: {error.strerror or error}") from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class _NoBar:
    def update(self, _n: int) -> None:
        pass


@contextlib.contextmanager
def progress(total_bytes: int, label: str, minimum: int = 64 << 20) -> Iterator[Any]:
    """A tqdm progress bar for long steps, shown only on a terminal and for large amounts."""
    if total_bytes < minimum or not sys.stderr.isatty():
        yield _NoBar()
        return
    from tqdm import tqdm

    with tqdm(total=total_bytes, unit="B", unit_scale=True, desc=label, leave=False) as bar:
        yield bar


class ProgressWriter:
    """A binary file that advances a progress bar by the bytes written through it (for writers,
    such as torch.save, that take a file and report no progress themselves)."""

    def __init__(self, file: BinaryIO, bar: Any) -> None:
        self._file, self._bar = file, bar

    def write(self, data: Any) -> int:
        written = self._file.write(data)
        self._bar.update(memoryview(data).nbytes)
        return written

    def flush(self) -> None:
        self._file.flush()


def write_bytes_atomic(path: Path, data: bytes) -> None:
    with atomic_output(path) as f:
        f.write(data)


class FileDigest:
    """The sha256 of a file, hashed on a background thread from the moment this is made.

    hashlib releases the GIL while it hashes, so a big caffemodel is hashed on another core while
    the model is loaded, built and written; `hexdigest()` (and `str()`) wait for the result. The
    file is hashed through memory-mapped windows of 64 MB: each is one GIL-free call (a thread
    that needs the GIL back every few hundred KB waits up to the interpreter's 5 ms switch
    interval each time while the main thread runs Python), and each is unmapped once hashed, so
    the file is not counted in the process's resident memory a second time.
    """

    _SLICE = 64 << 20
    _INLINE_BELOW = 4 << 20  # small files are hashed at once: a thread would cost more than it saves

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._hex: str | None = None
        self._error: Exception | None = None
        self._thread: threading.Thread | None = None
        try:
            small = self.path.stat().st_size < self._INLINE_BELOW
        except OSError as error:
            self._error = error
            return
        if small:
            self._hash()
        else:
            self._thread = threading.Thread(target=self._hash, name=f"sha256 {self.path.name}", daemon=True)
            self._thread.start()

    def _hash(self) -> None:
        digest = hashlib.sha256()
        try:
            with self.path.open("rb") as f:
                size = os.fstat(f.fileno()).st_size
                for offset in range(0, size, self._SLICE):
                    with _map_read_only(f.fileno(), offset, min(self._SLICE, size - offset)) as window:
                        digest.update(window)
        except (OSError, ValueError) as error:  # ValueError: mmap of a file that shrank meanwhile
            self._error = error
            return
        self._hex = digest.hexdigest()

    def hexdigest(self) -> str:
        if self._thread is not None:
            self._thread.join()
        if self._hex is None:
            reason = getattr(self._error, "strerror", None) or self._error
            raise ConverterError(f"{self.path}: cannot read it to record its sha256 ({reason})")
        return self._hex

    def __str__(self) -> str:
        return self.hexdigest()

    def __repr__(self) -> str:
        state = self._hex or ("hashing" if self._thread is not None and self._thread.is_alive() else "failed")
        return f"FileDigest({str(self.path)!r}: {state})"


def _map_read_only(fd: int, offset: int, length: int) -> mmap.mmap:
    """`length` bytes of a file from `offset`, mapped read-only; on Linux with every page mapped at
    once (MAP_POPULATE) rather than one page fault at a time."""
    populate = getattr(mmap, "MAP_POPULATE", 0)
    if populate:
        return mmap.mmap(fd, length, flags=mmap.MAP_SHARED | populate, prot=mmap.PROT_READ, offset=offset)
    return mmap.mmap(fd, length, access=mmap.ACCESS_READ, offset=offset)
