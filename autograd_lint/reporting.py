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
            Path(output).write_text(text, encoding="utf-8")
        except OSError as error:
            click.echo(render_error(output, f"cannot write the report: {error.strerror or error}"), err=True)
            sys.exit(2)
    elif text:
        click.echo(text, nl=False, err=err, color=color)
