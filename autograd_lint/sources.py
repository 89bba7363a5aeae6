"""Reading and writing the files we check, byte for byte.

A file is decoded the way Python itself would (its BOM or ``coding:`` comment, else
UTF-8) and without newline translation, so offsets in findings and fixes are offsets into
exactly what is on disk, and a fix writes back the same encoding, BOM and newlines.
"""

from __future__ import annotations

import io
import os
import stat
import tempfile
import tokenize
from dataclasses import dataclass
from pathlib import Path


class SourceReadError(Exception):
    """A file that cannot be read or decoded; the message is one line for the user."""


class SourceWriteError(Exception):
    """A fixed file that cannot be written back; the message is one line for the user."""


@dataclass(frozen=True)
class SourceFile:
    path: str
    text: str
    # The codec that round-trips the file: 'utf-8-sig' when it starts with a BOM.
    encoding: str = "utf-8"

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


def read_source(path: str | os.PathLike[str]) -> SourceFile:
    return decode(read_bytes(path), os.fspath(path))


def read_bytes(path: str | os.PathLike[str]) -> bytes:
    name = os.fspath(path)
    try:
        with open(name, "rb") as handle:
            data = handle.read()
    except IsADirectoryError:
        raise SourceReadError("is a directory, not a Python file or a notebook") from None
    except FileNotFoundError:
        raise SourceReadError("no such file or directory") from None
    except PermissionError:
        raise SourceReadError("permission denied") from None
    except OSError as error:
        raise SourceReadError(f"cannot read: {error.strerror or error}") from None
    return data


def write_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Replace the file's content in one step, keeping its permission bits.

    The temporary file sits in the same folder so ``os.replace`` stays a rename on one
    file system: a crash leaves either the old file or the new one, never half of each.
    """
    # Through a symlink to the real file, so the link stays a link.
    target = Path(os.path.realpath(path))
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
        handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as error:
        raise SourceWriteError(f"cannot write: {error.strerror or error}") from None
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except OSError as error:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise SourceWriteError(f"cannot write: {error.strerror or error}") from None
