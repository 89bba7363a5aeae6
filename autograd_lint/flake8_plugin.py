"""The flake8 plugin: ``flake8 --select AGL`` reports what ``autograd-lint`` does.

flake8 decides which codes are shown (``select``, ``ignore``, ``per-file-ignores`` in its own
config); the plugin runs every rule that is on by default and does not read
``[tool.autograd-lint]``, so one configuration governs a flake8 run. Suppressions: a finding is
silenced by either tool's comment reading. flake8's ``# noqa: AGL002`` works on the reported
line; ours also understands rule names (``# noqa: missing-zero-grad``), a ``# noqa`` on the first
line of a multi-line statement and ``# autograd-lint: skip-file``. ``flake8 --disable-noqa``
turns both off.
"""

from __future__ import annotations

import argparse
import ast
from collections.abc import Iterator, Sequence
from typing import Any

from . import __version__
from .engine import SourceError, check_source


class Plugin:
    name = "autograd-lint"
    version = __version__
    honor_noqa = True

    def __init__(self, tree: ast.AST, lines: Sequence[str], filename: str) -> None:
        # The lines flake8 read (decoded, as it reports positions in them), not the tree:
        # the checker parses with libcst, which keeps the comments and layout the fixes need.
        self.lines = lines
        self.filename = filename

    @classmethod
    def parse_options(cls, options: argparse.Namespace) -> None:
        cls.honor_noqa = not getattr(options, "disable_noqa", False)

    def run(self) -> Iterator[tuple[int, int, str, type[Any]]]:
        try:
            findings = check_source("".join(self.lines), self.filename, honor_noqa=self.honor_noqa)
        except SourceError:
            return  # flake8 reports the syntax error itself (E999)
        for finding in findings:
            yield finding.line, finding.column - 1, f"{finding.code} {finding.message}", type(self)
