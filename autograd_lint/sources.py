"""Reading and writing the files we check, byte for byte.

A file is decoded the way Python itself would (its BOM or ``coding:`` comment, else
UTF-8) and without newline translation, so offsets in findings and fixes are offsets into
exactly what is on disk, and a fix writes back the same encoding, BOM and newlines.

A fix never loses an edit: ``read_source`` records what it read (a content hash and the
file's identity), and ``write_fixed`` writes only if the file is still exactly that,
checked again just before the atomic rename. Owner, group and mode are kept; a hard-linked
file is rewritten in place so that every name sees the fix; a symlink is followed only to
a file inside the checked tree.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import tempfile
import tokenize
from dataclasses import dataclass, replace
from pathlib import Path


class SourceReadError(Exception):
    """A file that cannot be read or decoded; the message is one line for the user."""


class SourceWriteError(Exception):
    """A fixed file that cannot be written back; the message is one line for the user."""


@dataclass(frozen=True)
class FileStamp:
    """What was read: which file (device and inode) and its content."""

    device: int
    inode: int
    size: int
    mtime_ns: int
    digest: bytes  # SHA-256 of the bytes read

    @classmethod
    def of(cls, status: os.stat_result, data: bytes) -> FileStamp:
        return cls(status.st_dev, status.st_ino, len(data), status.st_mtime_ns, hashlib.sha256(data).digest())


@dataclass(frozen=True)
class SourceFile:
    path: str
    text: str
    # The codec that round-trips the file: 'utf-8-sig' when it starts with a BOM.
    encoding: str = "utf-8"
    # Set by read_source; None for text that did not come from a file (stdin).
    stamp: FileStamp | None = None

    def encode(self, text: str) -> bytes:
        try:
            return text.encode(self.encoding)
        except UnicodeEncodeError as error:
            raise SourceWriteError(f"the fixed text cannot be encoded as {self.encoding}: {error.reason}") from None


def decode(data: bytes, path: str) -> SourceFile:
    if b"\0" in data:
        raise SourceReadError("binary file (contains NUL bytes)")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as error:
        if "invalid or missing encoding declaration" not in error.msg:
            # An unknown or contradictory coding cookie.
            raise SourceReadError(f"cannot decode: {error.msg}") from None
        encoding = "utf-8"  # no cookie and not UTF-8: the decode below says where it breaks
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as error:
        raise SourceReadError(
            f"cannot decode as {encoding}: invalid byte {data[error.start : error.start + 1]!r} at offset {error.start}"
        ) from None
    except LookupError:
        raise SourceReadError(f"cannot decode: unknown encoding {encoding!r}") from None
    return SourceFile(path=path, text=text, encoding=encoding)


def read_source(path: str | os.PathLike[str], max_size: int | None = None) -> SourceFile:
    """Read and decode one file, recording what was read for ``write_fixed``.

    ``max_size`` (bytes) refuses a bigger file before reading it.
    """
    name = os.fspath(path)
    try:
        # Non-blocking so that a FIFO is refused, not waited on; regular files ignore it.
        handle = os.open(name, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except IsADirectoryError:
        raise SourceReadError("is a directory, not a Python file or a notebook") from None
    except FileNotFoundError:
        raise SourceReadError("no such file or directory") from None
    except PermissionError:
        raise SourceReadError("permission denied") from None
    except OSError as error:
        raise SourceReadError(f"cannot read: {error.strerror or error}") from None
    status = os.fstat(handle)
    if not stat.S_ISREG(status.st_mode):
        os.close(handle)
        raise SourceReadError(
            "is a directory, not a Python file" if stat.S_ISDIR(status.st_mode) else "not a regular file"
        )
    if max_size is not None and status.st_size > max_size:
        os.close(handle)
        raise SourceReadError(f"is {_megabytes(status.st_size)}, over the max-file-size of {_megabytes(max_size)}")
    with open(handle, "rb") as stream:
        try:
            data = stream.read()
        except OSError as error:
            raise SourceReadError(f"cannot read: {error.strerror or error}") from None
    return replace(decode(data, name), stamp=FileStamp.of(status, data))


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


# --- writing a fix back ------------------------------------------------------------------------

_NOT_FIXED = "; not fixed"


def write_fixed(source: SourceFile, data: bytes, root: str | os.PathLike[str] | None = None) -> None:
    """Write ``data`` over the file ``source`` was read from, if it is still what was read.

    ``root`` is the checked tree (default: the working directory); a symlink is followed
    only to a file inside it. Raises ``SourceWriteError`` (one line, ending "not fixed")
    and leaves the file alone when it changed since it was read, is read-only, or cannot
    be written. The write is an atomic rename of a temporary file that has the original's
    mode, owner and group; when the owner cannot be kept (not root, someone else's file)
    or the file has other hard links, it is rewritten in place instead, so that the owner
    stays and every name of the file sees the fix (a rename would split the names into an
    old and a new file, and the fix would be lost for the others).
    """
    stamp = source.stamp
    if stamp is None:
        raise SourceWriteError("was not read from a file" + _NOT_FIXED)
    target = _target(source.path, root)
    status = _status(target)
    _check_unchanged(target, status, stamp)
    if not os.access(target, os.W_OK, effective_ids=os.access in os.supports_effective_ids):
        raise SourceWriteError("permission denied: file is read-only" + _NOT_FIXED)
    if status.st_nlink > 1 or not _can_keep_owner(status):
        _write_in_place(target, data, stamp)
    else:
        _write_by_rename(target, data, status, stamp)


def _target(path: str, root: str | os.PathLike[str] | None) -> Path:
    """The file to write: a symlink's target only when that is inside ``root``.

    Only the last component counts; symlinked folders on the way are the user's layout.
    """
    if not os.path.islink(path):
        return Path(path)
    real = Path(os.path.realpath(path))
    tree = Path(os.path.realpath(root if root is not None else os.getcwd()))
    if not real.is_relative_to(tree):
        raise SourceWriteError("is a symlink to a file outside the checked tree" + _NOT_FIXED)
    return real


def _status(target: Path) -> os.stat_result:
    try:
        return os.stat(target)
    except FileNotFoundError:
        raise SourceWriteError("was deleted since it was read" + _NOT_FIXED) from None
    except OSError as error:
        raise SourceWriteError(f"cannot write: {error.strerror or error}{_NOT_FIXED}") from None


def _check_unchanged(target: Path | int, status: os.stat_result, stamp: FileStamp) -> None:
    """Same file (device, inode) with the same bytes; mtime alone may be a mere touch."""
    if (status.st_dev, status.st_ino, status.st_size) == (stamp.device, stamp.inode, stamp.size):
        try:
            with open(target, "rb", closefd=not isinstance(target, int)) as stream:
                if isinstance(target, int):
                    stream.seek(0)
                if hashlib.sha256(stream.read()).digest() == stamp.digest:
                    return
        except OSError:
            pass
    raise SourceWriteError("changed on disk since it was read" + _NOT_FIXED)


def _can_keep_owner(status: os.stat_result) -> bool:
    """A new file is ours: only root may give it away, anyone may pick a group they are in."""
    if os.geteuid() == 0 or status.st_uid == os.geteuid():
        return status.st_gid == os.getegid() or os.geteuid() == 0 or status.st_gid in os.getgroups()
    return False


def _write_by_rename(target: Path, data: bytes, status: os.stat_result, stamp: FileStamp) -> None:
    """A temporary file beside the target, renamed over it: a crash leaves the old file or the new."""
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except PermissionError:
        raise SourceWriteError("permission denied: cannot create a file in its folder" + _NOT_FIXED) from None
    except OSError as error:
        raise SourceWriteError(f"cannot write: {error.strerror or error}{_NOT_FIXED}") from None
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            if (status.st_uid, status.st_gid) != (os.geteuid(), os.getegid()):
                os.fchown(handle, status.st_uid, status.st_gid)
            os.fchmod(handle, stat.S_IMODE(status.st_mode))  # after chown, which clears set-id bits
            os.fsync(handle)  # the data is on disk before the name points at it
        # Last look, as late as can be: an edit saved while we fixed wins over the fix.
        _check_unchanged(target, _status(target), stamp)
        os.replace(temporary, target)
    except BaseException as error:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        if isinstance(error, OSError):
            raise SourceWriteError(f"cannot write: {error.strerror or error}{_NOT_FIXED}") from None
        raise


def _write_in_place(target: Path, data: bytes, stamp: FileStamp) -> None:
    """Through the same inode: every hard link, the owner and the mode stay as they are.

    Not atomic; the new bytes are written before the old tail is cut, so the file is never
    empty. Checked for changes through the very handle that writes.
    """
    try:
        handle = os.open(target, os.O_RDWR | getattr(os, "O_CLOEXEC", 0))
    except PermissionError:
        raise SourceWriteError("permission denied: file is read-only" + _NOT_FIXED) from None
    except OSError as error:
        raise SourceWriteError(f"cannot write: {error.strerror or error}{_NOT_FIXED}") from None
    try:
        _check_unchanged(handle, os.fstat(handle), stamp)
        os.lseek(handle, 0, os.SEEK_SET)
        view = memoryview(data)
        while view:
            view = view[os.write(handle, view) :]
        os.ftruncate(handle, len(data))
        os.fsync(handle)
    except OSError as error:
        raise SourceWriteError(f"cannot write: {error.strerror or error}{_NOT_FIXED}") from None
    finally:
        os.close(handle)


def read_bytes(path: str | os.PathLike[str]) -> bytes:
    """A file's bytes, or ``SourceReadError`` with one line for the user (for notebooks run as they are)."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except IsADirectoryError:
        raise SourceReadError("is a directory, not a Python file") from None
    except FileNotFoundError:
        raise SourceReadError("no such file or directory") from None
    except PermissionError:
        raise SourceReadError("permission denied") from None
    except OSError as error:
        raise SourceReadError(f"cannot read: {error.strerror or error}") from None
