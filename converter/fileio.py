"""Writing outputs safely: to a temporary file in the target directory, renamed into place only
once complete, so a failure or interruption never leaves a half-written file.

Inside `all_or_nothing()` the renames wait until every file of the group is complete: a failure
anywhere (a full disk, Ctrl-C) leaves none of the group's files behind, not just no partial one.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from converter.errors import OutputError

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
                raw.flush()
                os.fsync(raw.fileno())
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


def write_bytes_atomic(path: Path, data: bytes) -> None:
    with atomic_output(path) as f:
        f.write(data)
