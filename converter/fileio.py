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
import errno
import hashlib
import json
import math
import mmap
import os
import re
import signal
import stat
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from converter.errors import ConverterError, OutputError

# Temporary files are named .<final name>.<TEMP_TAG><pid>-<random>.partial: the pid tells a later
# run whether their writer is gone (see sweep_stale_partials).
TEMP_TAG = "sc-"
TEMP_SUFFIX = ".partial"
# A leftover temporary file is swept only when its writer is gone and it is at least this old (a
# writer in another pid namespace sharing the folder looks gone, but keeps its file fresh).
STALE_AFTER_SECONDS = 15 * 60
# Temporary files of this process not yet renamed, for a fatal signal's last-moment cleanup.
live_temporaries: set[Path] = set()


class _Group:
    def __init__(self, force: bool) -> None:
        self.force = force
        self.moves: list[tuple[Path, Path]] = []  # (temporary, final)
        self.removals: list[Path] = []


# The open all_or_nothing() group, committed when it closes.
_pending: contextvars.ContextVar[_Group | None] = contextvars.ContextVar("pending", default=None)


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

    def note_write_error(self, error: OSError) -> None:
        """Record a failed write made past `write` (converter.mapped copies file to file)."""
        self.error = error

    def __getattr__(self, name: str) -> Any:
        return getattr(self._f, name)


def _cannot_write(path: Path, error: OSError) -> OutputError:
    return OutputError(f"cannot write {path}: {error.strerror or error}")


def _kind(mode: int) -> str:
    kinds = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
             (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def refuse_special_output(path: Path) -> None:
    """Outputs are only ever regular files: whatever else sits at an output path (a device such as
    /dev/null, a FIFO, a socket, a directory), also through a link, is never replaced."""
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):  # a folder that is not one: check_outputs names it
        return
    except OSError as error:
        raise OutputError(f"cannot write {path}: {error.strerror or error}") from None
    if not stat.S_ISREG(mode):
        raise OutputError(f"{path} is {_kind(mode)}, not a regular file: squeeze-convert only writes regular "
                          "files; choose another output path")


def _temporary_in(directory: Path, name: str) -> tuple[int, Path]:
    fd, tmp_name = tempfile.mkstemp(prefix=f".{name}.{TEMP_TAG}{os.getpid()}-", suffix=TEMP_SUFFIX, dir=directory)
    tmp = Path(tmp_name)
    live_temporaries.add(tmp)
    return fd, tmp


def _discard(tmp: Path) -> None:
    live_temporaries.discard(tmp)
    tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_output(path: Path, force: bool = True) -> Iterator[BinaryIO]:
    """A temporary file beside `path`, renamed to it once complete (inside an all_or_nothing()
    group: once the whole group is complete). Without `force` an existing file, even one that
    appeared while this one was written (another run), is never replaced."""
    directory = path.parent if str(path.parent) else Path(".")
    refuse_special_output(path)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        sweep_stale_partials(directory)
        fd, tmp = _temporary_in(directory, path.name)
    except OSError as error:
        raise OutputError(f"cannot write in {directory}: {error.strerror or error}") from None
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
        except OSError as error:
            raise _cannot_write(path, error) from None
        group = _pending.get()
        if group is None:
            single = _Group(force)
            single.moves.append((tmp, path))
            _commit(single)
        else:
            group.moves.append((tmp, path))
    except BaseException:
        _discard(tmp)
        raise


@contextlib.contextmanager
def all_or_nothing(force: bool = True, remove: Sequence[str | Path] = ()) -> Iterator[None]:
    """Files written with atomic_output inside appear together when the block ends, or not at all;
    the files in `remove` (stale companions of the new ones) go at the same moment.

    Every target is checked before the first rename, and the files replaced are kept (hard links
    beside them) until the whole set is in place: a rename failing midway puts back what was there.
    Without `force` no existing file is replaced, not even one another run created meanwhile.
    Nested blocks join the outermost one."""
    outer = _pending.get()
    if outer is not None:
        outer.removals.extend(Path(p) for p in remove)
        yield
        return
    group = _Group(force)
    group.removals.extend(Path(p) for p in remove)
    token = _pending.set(group)
    try:
        yield
        _commit(group)
    finally:
        _pending.reset(token)
        for tmp, _ in group.moves:
            _discard(tmp)


def _backup(path: Path) -> Path | None:
    """A hidden hard link to the file at `path` (None if there is none), to put it back if the
    group fails; where hard links are not supported, the file itself moves there."""
    if not os.path.lexists(path):
        return None
    fd, backup = _temporary_in(path.parent, path.name)
    os.close(fd)
    os.unlink(backup)
    try:
        os.link(path, backup, follow_symlinks=False)
    except OSError:
        os.replace(path, backup)
    return backup


def _commit(group: _Group) -> None:
    """Rename every temporary file of the group into place, remove its stale companions; on any
    failure undo what was done."""
    finals = [final for _, final in group.moves]
    for final in [*finals, *group.removals]:
        refuse_special_output(final)
        if final in finals and not group.force and os.path.lexists(final):
            raise OutputError(f"{final} exists (another run wrote it meanwhile?); pass --force to replace it")
    removals = [p for p in group.removals if p not in finals and os.path.lexists(p)]
    done: list[tuple[Path, Path | None]] = []  # (final, what it was before, kept aside)
    try:
        for tmp, final in group.moves:
            try:
                if group.force:
                    backup = _backup(final)
                    try:
                        os.replace(tmp, final)
                    except OSError:
                        if backup is not None:
                            _put_back(backup, final)
                        raise
                    done.append((final, backup))
                else:
                    _create_exclusively(tmp, final)
                    done.append((final, None))
            except FileExistsError:
                raise OutputError(f"{final} appeared while squeeze-convert was writing (another run?); "
                                  "nothing replaced; pass --force to replace it") from None
            except OSError as error:
                raise _cannot_write(final, error) from None
            live_temporaries.discard(tmp)
        for path in removals:
            try:
                backup = _backup(path)
                done.append((path, backup))
                path.unlink(missing_ok=True)
            except OSError as error:
                raise OutputError(f"cannot remove the stale {path}: {error.strerror or error}") from None
    except BaseException:
        for final, backup in reversed(done):
            with contextlib.suppress(OSError):
                if backup is not None:
                    os.replace(backup, final)
                    live_temporaries.discard(backup)
                else:
                    final.unlink(missing_ok=True)
        raise
    for _, backup in done:
        if backup is not None:
            _discard(backup)


def _put_back(backup: Path, final: Path) -> None:
    """Undo _backup for a file that was not replaced after all."""
    with contextlib.suppress(OSError):
        if os.path.lexists(final):  # still there: the backup was a hard link
            _discard(backup)
        else:
            os.replace(backup, final)
            live_temporaries.discard(backup)


def _create_exclusively(tmp: Path, final: Path) -> None:
    """Rename `tmp` to `final` unless `final` exists, atomically where the file system has hard
    links (FileExistsError if another run created `final` meanwhile)."""
    try:
        os.link(tmp, final)
    except FileExistsError:
        raise
    except OSError as error:
        if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
            raise
        if os.path.lexists(final):
            raise FileExistsError(errno.EEXIST, "exists", str(final)) from None
        os.replace(tmp, final)
        return
    _discard(tmp)


def sweep_stale_partials(directory: Path) -> list[Path]:
    """Remove the temporary files killed runs left in `directory`: only squeeze-convert's own
    (named .<name>.sc-<pid>-<random>.partial), only when that pid is gone and the file is older
    than STALE_AFTER_SECONDS. Returns what was removed."""
    removed: list[Path] = []
    try:
        candidates = list(directory.glob(f".*.{TEMP_TAG}*{TEMP_SUFFIX}"))
    except OSError:
        return removed
    now = time.time()
    for path in candidates:
        match = re.search(rf"\.{TEMP_TAG}(\d+)-[^.]*{re.escape(TEMP_SUFFIX)}$", path.name)
        if match is None or path in live_temporaries:
            continue
        try:
            info = path.lstat()
            if not stat.S_ISREG(info.st_mode) or now - info.st_mtime < STALE_AFTER_SECONDS:
                continue
            if _process_alive(int(match.group(1))):
                continue
            path.unlink()
            removed.append(path)
        except OSError:
            continue
    return removed


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return pid > 0
    return True


def open_input(path: str | Path) -> BinaryIO:
    """An input file opened read-only, refused (exit 2) unless it is a regular file: a FIFO would
    block the run forever, /dev/zero would be read until memory runs out. Opened without blocking,
    then checked, so a FIFO with no writer is refused, not waited on."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise ConverterError(f"{path}: no such file") from None
    except OSError as error:
        raise ConverterError(f"{path}: cannot read ({error.strerror or error})") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise ConverterError(f"{path} is {_kind(mode)}, not a regular file; squeeze-convert reads only regular files")
    if hasattr(os, "set_blocking"):
        os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def read_input_bytes(path: str | Path) -> bytes:
    """The whole of a (regular) input file."""
    with open_input(path) as f:
        try:
            return f.read()
        except OSError as error:
            raise ConverterError(f"{path}: cannot read ({error.strerror or error})") from None


def check_input_file(path: str | Path) -> None:
    """Refuse (exit 2) an input that is missing, a directory, or not a regular file."""
    open_input(path).close()


# Input files read through memory maps, with their size then: named if one shrinks under the map
# (see guard_mapped_input).
mapped_inputs: dict[str, int] = {}
_sigbus_handler: Any = None


def guard_mapped_input(path: str | Path) -> None:
    """Name `path` if it is truncated while mapped. Reading a page of a memory map past the file's
    new end raises SIGBUS, which would end the process with a bare "Bus error": this handler
    reports the file (exit 2, as bad input), removes this run's temporary files and exits. It runs
    as the signal's own handler (Python's signal module would return to the faulting read)."""
    global _sigbus_handler
    with contextlib.suppress(OSError):
        mapped_inputs[str(path)] = os.stat(path).st_size
    if _sigbus_handler is not None or not hasattr(signal, "SIGBUS"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        handler_type = ctypes.CFUNCTYPE(None, ctypes.c_int)
        libc.signal.restype = ctypes.c_void_p
        libc.signal.argtypes = [ctypes.c_int, handler_type]
        _sigbus_handler = handler_type(_on_sigbus)
        libc.signal(signal.SIGBUS, _sigbus_handler)
    except (OSError, AttributeError):  # no C library to call: a bus error stays a bus error
        _sigbus_handler = False


def _on_sigbus(_signal_number: int) -> None:
    shrunk = []
    for name, size in mapped_inputs.items():
        with contextlib.suppress(OSError):
            if os.stat(name).st_size < size:
                shrunk.append(name)
    names = ", ".join(shrunk or mapped_inputs) or "an input file"
    os.write(2, f"error: {names}: changed while squeeze-convert was reading it (truncated?); "
                "nothing was written\n".encode(errors="replace"))
    for tmp in list(live_temporaries):
        with contextlib.suppress(OSError):
            os.unlink(tmp)
    os._exit(ConverterError.exit_code)


class _NoBar:
    def update(self, _n: int) -> None:
        pass


@contextlib.contextmanager
def progress(total: int, label: str, minimum: int = 64 << 20, unit: str = "B") -> Iterator[Any]:
    """A tqdm progress bar for long steps, shown only on a terminal and for large amounts (bytes,
    shown scaled: kB, MB; or steps of another `unit`)."""
    if total < minimum or not sys.stderr.isatty():
        yield _NoBar()
        return
    from tqdm import tqdm

    with tqdm(total=total, unit=unit, unit_scale=unit == "B", desc=label, leave=False) as bar:
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


def write_bytes_atomic(path: Path, data: bytes, force: bool = True) -> None:
    with atomic_output(path, force) as f:
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
            with open_input(self.path) as f:
                size = os.fstat(f.fileno()).st_size
                guard_mapped_input(self.path)
                for offset in range(0, size, self._SLICE):
                    with _map_read_only(f.fileno(), offset, min(self._SLICE, size - offset)) as window:
                        digest.update(window)
        except (OSError, ValueError, ConverterError) as error:  # ValueError: mmap of a file that shrank meanwhile
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
        refuse_special_output(path)
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
