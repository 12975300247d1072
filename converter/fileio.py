"""Writing outputs safely: to a temporary file in the target directory, renamed into place only
once complete, so a failure or interruption never leaves a half-written file."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from converter.errors import OutputError


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
            f.flush()
            os.fsync(f.fileno())
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


def write_bytes_atomic(path: Path, data: bytes) -> None:
    with atomic_output(path) as f:
        f.write(data)
