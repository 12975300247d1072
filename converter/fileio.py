"""Files: outputs checked before anything is written (never an input, never an existing file
without force), then written safely; progress bars for long writes; source files hashed in the
background.

Outputs go to a temporary file in the target directory, renamed into place only once complete,
so a failure or interruption never leaves a half-written file and no process ever reads a partial
one. Inside `all_or_nothing()` the renames wait until every file of the group is complete: a
failure anywhere (a full disk, Ctrl-C) leaves none of the group's files behind, not just no
partial one.

Outputs are not fsync'ed, like `cp`, `torch.save` and `onnx.save`: flushing to the disk is left to
the operating system, so a power cut shortly after a conversion can lose the new file (an
existing file it replaced may then be lost as well on some file systems) but never exposes a
half-written one under the final name.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
import math
import mmap
import os
import stat
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from converter.errors import ConverterError, OutputError

# (temporary, final) pairs of the open all_or_nothing() group, renamed when it closes.
_pending: contextvars.ContextVar[list[tuple[Path, Path]] | None] = contextvars.ContextVar("pending", default=None)


def _file_mode() -> int:
    """What a new file gets from open(): 0o666 less the process umask (mkstemp gives 0o600)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


class _WriteWatch:
    """The temporary file, remembering a failed write: writers such as torch.save turn the OSError
    of a full disk into their own RuntimeError, which would otherwise hide the cause."""

    def __init__(self, f: BinaryIO) -> None:
        self._f = f
        self.error: OSError | None = None

    def write(self, data: Any) -> int:
        try:
            return self._f.write(data)
        except OSError as error:
            self.error = error
            raise

    def __getattr__(self, name: str) -> Any:
        return getattr(self._f, name)


def _cannot_write(path: Path, error: OSError) -> OutputError:
    return OutputError(f"cannot write {path}: {error.strerror or error}")


@contextlib.contextmanager
def atomic_output(path: Path) -> Iterator[BinaryIO]:
    directory = path.parent if str(path.parent) else Path(".")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=directory)
    except OSError as error:
        raise OutputError(f"cannot write in {directory}: {error.strerror or error}") from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as raw:
            watched = _WriteWatch(raw)
            try:
                yield watched  # type: ignore[misc]
            except Exception:
                if watched.error is not None:
                    raise _cannot_write(path, watched.error) from None
                raise
            try:
                # Closed here so that an error the file system reports only now (a full disk)
                # is named like one from a write.
                raw.close()
            except OSError as error:
                raise _cannot_write(path, error) from None
        try:
            os.chmod(tmp, _file_mode())
            group = _pending.get()
            if group is None:
                os.replace(tmp, path)
            else:
                group.append((tmp, path))
        except OSError as error:
            raise _cannot_write(path, error) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def all_or_nothing() -> Iterator[None]:
    """Files written with atomic_output inside appear together when the block ends, or not at all.

    Nested blocks join the outermost one."""
    if _pending.get() is not None:
        yield
        return
    group: list[tuple[Path, Path]] = []
    token = _pending.set(group)
    try:
        yield
        for tmp, final in group:
            try:
                os.replace(tmp, final)
            except OSError as error:
                raise _cannot_write(final, error) from None
    finally:
        _pending.reset(token)
        for tmp, _ in group:
            tmp.unlink(missing_ok=True)


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


def _same_file(a: Path, b: Path) -> bool:
    """Whether two existing paths name one file (hard links included)."""
    try:
        return a.samefile(b)
    except OSError:
        return False


def check_outputs(outputs: Sequence[str | Path], inputs: Sequence[str | Path], force: bool,
                  elsewhere: str = "--out-dir (-o)") -> None:
    """Refuse to overwrite an input, or an existing output without force, or to write in a folder
    that cannot take it. `elsewhere` names the option that writes somewhere else."""
    outputs, inputs = [Path(p) for p in outputs], [Path(p) for p in inputs]
    resolved_inputs = {p.resolve() for p in inputs}
    for path in outputs:
        if path.resolve() in resolved_inputs or any(_same_file(path, p) for p in inputs):
            raise OutputError(f"output {path} is one of the inputs; choose another --out-dir or name")
        if path.exists() and not force:
            raise OutputError(f"{path} exists; pass --force to replace it")
    for folder in {path.parent for path in outputs}:
        # The folder is made only when the first file is written; here only that it can be.
        existing = next(p for p in (folder, *folder.parents) if p.exists() or p == p.parent)
        if not existing.is_dir():
            raise OutputError(f"cannot create {folder}: {existing} is not a directory")
        mode = existing.stat().st_mode
        # os.access says yes to root whatever the mode; a folder nobody may write to is meant to
        # stay as it is (shared, read-only data), so it is refused for root too.
        if not mode & 0o222:
            raise OutputError(f"cannot write in {existing}: the folder is read-only ({stat.filemode(mode)}); "
                              f"write elsewhere with {elsewhere}")
        if not os.access(existing, os.W_OK | os.X_OK):
            raise OutputError(f"cannot write in {existing}: permission denied; write elsewhere with {elsewhere}")


def json_text(document: object, indent: int = 1, inline_width: int = 80) -> str:
    """JSON as squeeze-convert writes it (reports, inspect --json): indented, except that a list
    of plain values (numbers, strings, booleans, null) that fits in `inline_width` characters, such
    as a shape or a top-5, stays on one line. Infinities and NaN, which JSON has no words for
    (Python would write Infinity and NaN, which strict parsers reject), are written null, as
    JavaScript's JSON.stringify does: a report's rel_err is infinite where values could not be
    compared at all (other shapes, non-finite values where the truth has finite ones)."""

    def render(value: object, depth: int) -> str:
        if isinstance(value, float) and not math.isfinite(value):
            return "null"
        inner, outer = " " * (indent * (depth + 1)), " " * (indent * depth)
        if isinstance(value, dict):
            if not value:
                return "{}"
            items = (f"{inner}{json.dumps(key if isinstance(key, str) else json.dumps(key))}: "
                     f"{render(item, depth + 1)}" for key, item in value.items())
            return "{\n" + ",\n".join(items) + f"\n{outer}}}"
        if isinstance(value, (list, tuple)):
            if not value:
                return "[]"
            if all(item is None or isinstance(item, (str, int, float, bool)) for item in value):
                line = "[" + ", ".join(render(item, depth + 1) for item in value) + "]"
                if len(line) <= inline_width:
                    return line
            return "[\n" + ",\n".join(inner + render(item, depth + 1) for item in value) + f"\n{outer}]"
        return json.dumps(value)

    return render(document, 0)
