"""Where a rendered report goes: a file (``--output``) or the terminal."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .formatters import render_error


def emit_report(text: str, output: str | None, *, color: bool, err: bool = False) -> None:
    """Write ``text`` to ``output``, or echo it; a report that cannot be written exits 2."""
    if output:
        try:
            # surrogateescape: a file name that is not UTF-8 is written back as its own bytes.
            Path(output).write_bytes(text.encode("utf-8", "surrogateescape"))
        except OSError as error:
            click.echo(render_error(output, f"cannot write the report: {error.strerror or error}"), err=True)
            sys.exit(2)
    elif text:
        stream = sys.stderr if err else sys.stdout
        if stream is None:
            click.echo(render_error("autograd-lint", "cannot write the report: stdout is closed"), err=True)
            sys.exit(2)
        try:
            click.echo(text, nl=False, err=err, color=color)
        except UnicodeEncodeError:
            # A path that is not valid in the terminal's encoding: its own bytes, as ls prints them.
            stream.flush()
            encoding = getattr(stream, "encoding", None) or "utf-8"
            stream.buffer.write(text.encode(encoding, "surrogateescape"))
