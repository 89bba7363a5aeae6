"""The one result type shared by the static checker and the runtime monitor."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Applicability = Literal["safe", "unsafe"]


@dataclass(frozen=True)
class Edit:
    """Replace ``source[start:end]`` (character offsets) with ``content``.

    In a notebook the offsets are into the source of code cell ``cell`` (numbered as in ``Finding``).
    """

    start: int
    end: int
    content: str
    cell: int | None = None


@dataclass(frozen=True)
class Fix:
    """A rewrite that repairs one finding.

    ``safe`` fixes cannot change what the program computes; ``unsafe`` ones do,
    on purpose (they repair the training loop), and run only with ``--unsafe-fixes``.
    """

    description: str
    applicability: Applicability
    edits: tuple[Edit, ...]


@dataclass(frozen=True)
class Finding:
    """One reported mistake. Lines and columns are 1-based; ``end_*`` is exclusive.

    In a notebook ``cell`` is the cell's number, counting every cell from 1 (markdown included, as
    Jupyter and ruff number them), and lines count from the cell's first line; ``None`` in a file.
    """

    code: str
    name: str
    message: str
    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    fix: Fix | None = field(default=None, compare=False)
    cell: int | None = None

    @property
    def sort_key(self) -> tuple[str, int, int, int, str]:
        return (self.path, self.cell or 0, self.line, self.column, self.code)

    @property
    def where(self) -> str:
        """``path:line:col`` or, in a notebook, ``path:cell N:line:col`` (ruff's convention)."""
        cell = "" if self.cell is None else f"cell {self.cell}:"
        return f"{self.path}:{cell}{self.line}:{self.column}"
