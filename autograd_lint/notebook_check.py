"""A notebook's code cells checked, and fixed, as one module in cell order.

Facts flow across cells: the loss built in cell 4 and backpropagated in a loop of cell 9 is the
same mistake as in one script. Each checked cell sits in the module after a separator comment
line, so its lines map back by an offset, and a fixed module splits back into cells. A fix is
applied in a notebook when each of its edits lies inside one cell; so AGL001's fix moves the loss
from the cell that built it into the loop's cell, as it moves it within a script. An edit that
would cross from one cell into another is not offered.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from .config import Config
from .engine import SourceError, check_source
from .finding import Edit, Finding, Fix
from .fixer import MAX_ROUNDS, apply_round, choose_fixes
from .ipython_syntax import MaskedCell, Placeholders, mask_cell, python_error, unmask
from .notebook import Cell, Notebook
from .positions import LineIndex

SEPARATOR = "#<autograd-lint cell {}>"
_SEPARATOR = re.compile(r"^#<autograd-lint cell (\d+)>(?:\r\n|\r|\n)", re.MULTILINE)


@dataclass(frozen=True)
class CellError:
    cell: int
    message: str
    line: int | None = None
    column: int | None = None


@dataclass(frozen=True)
class Part:
    """One checked code cell inside the module."""

    cell: Cell
    masked: MaskedCell
    first_line: int  # the module line of the cell's first line
    start: int  # the module offset of the cell's first character
    end: int  # the module offset just past the cell (its added newline included)
    added_newline: bool  # the cell does not end with a newline; the module gives it one


@dataclass
class NotebookModule:
    text: str
    parts: list[Part]
    first_lines: list[int] = field(init=False)

    def __post_init__(self) -> None:
        self.first_lines = [part.first_line for part in self.parts]

    @classmethod
    def build(cls, cells: Sequence[tuple[Cell, MaskedCell]], newline: str = "\n") -> NotebookModule:
        pieces: list[str] = []
        parts: list[Part] = []
        offset, line = 0, 1
        for cell, masked in cells:
            separator = SEPARATOR.format(cell.number) + newline
            text = masked.text
            added = bool(text) and not text.endswith(("\n", "\r"))
            if added:
                text += newline
            pieces += [separator, text]
            offset += len(separator)
            line += 1
            parts.append(Part(cell, masked, line, offset, offset + len(text), added))
            offset += len(text)
            line += len(LineIndex(text).starts) - 1
        return cls("".join(pieces), parts)

    def part_at_line(self, line: int) -> Part | None:
        index = bisect_right(self.first_lines, line) - 1
        if index < 0:
            return None
        part = self.parts[index]
        return part if line < part.first_line + _line_count(self.text[part.start : part.end]) else None

    def part_at_offset(self, offset: int) -> Part | None:
        """The cell holding ``offset``; its end counts as inside (an insertion after its last line)."""
        for part in self.parts:
            if part.start <= offset <= part.end:
                return part
        return None

    def split(self, fixed: str) -> dict[int, str] | None:
        """The new source of every cell in a fixed module, or ``None`` if a separator was lost."""
        matches = list(_SEPARATOR.finditer(fixed))
        if [int(m.group(1)) for m in matches] != [p.cell.number for p in self.parts]:
            return None
        sources: dict[int, str] = {}
        for index, (match, part) in enumerate(zip(matches, self.parts, strict=True)):
            end = matches[index + 1].start() if index + 1 < len(matches) else len(fixed)
            text = fixed[match.end() : end]
            if part.added_newline and text.endswith(("\n", "\r")):
                text = text[: -2 if text.endswith("\r\n") else -1]
            sources[part.cell.number] = unmask(text, part.masked.masks)
        return sources


def _line_count(text: str) -> int:
    return len(LineIndex(text).starts) - (1 if text.endswith(("\n", "\r")) or not text else 0)


# --- reading the cells ----------------------------------------------------------------------------


@dataclass
class Prepared:
    module: NotebookModule
    errors: list[CellError] = field(default_factory=list)


def prepare(notebook: Notebook, exclude: frozenset[int] = frozenset()) -> Prepared:
    """The module of the notebook's checkable code cells, and the cells that are not valid Python."""
    placeholders = Placeholders()
    cells: list[tuple[Cell, MaskedCell]] = []
    errors: list[CellError] = []
    for cell in notebook.code_cells:
        masked = mask_cell(cell.source, placeholders)
        if masked is None or cell.number in exclude:
            continue  # a cell magic that is not Python (%%bash, %%html...)
        error = python_error(masked.text)
        if error is not None:
            message, line, column = error
            errors.append(CellError(cell.number, f"syntax error: {message}", line, column))
            continue
        cells.append((cell, masked))
    newline = "\r\n" if any("\r\n" in cell.source for cell, _ in cells) else "\n"
    return Prepared(NotebookModule.build(cells, newline), errors)


def check_module(notebook: Notebook, config: Config) -> tuple[Prepared, list[Finding]]:
    """The notebook's findings in module positions. A cell libcst rejects (Python accepted it) is
    dropped and the rest checked again, so one cell never costs the others their check."""
    rejected: list[CellError] = []
    while True:
        prepared = prepare(notebook, frozenset(e.cell for e in rejected))
        try:
            findings = check_source(prepared.module.text, notebook.path, config)
        except SourceError as error:
            part = prepared.module.part_at_line(error.line)
            if part is None:  # pragma: no cover - separators always parse
                raise
            rejected.append(CellError(part.cell.number, error.message, error.line - part.first_line + 1, error.column))
            continue
        prepared.errors = sorted(prepared.errors + rejected, key=lambda e: e.cell)
        return prepared, findings


def check_notebook(notebook: Notebook, config: Config) -> tuple[list[Finding], list[CellError]]:
    """Findings at cell positions, and the cells that could not be checked."""
    if notebook.language != "python" or not notebook.code_cells:
        return [], []
    prepared, findings = check_module(notebook, config)
    return [to_cell_finding(prepared.module, f) for f in findings], prepared.errors


# --- positions back in the cells --------------------------------------------------------------------


def to_cell_finding(module: NotebookModule, finding: Finding) -> Finding:
    part = module.part_at_line(finding.line)
    if part is None:  # pragma: no cover - a finding on a separator line
        return finding
    line = finding.line - part.first_line + 1
    end_part = module.part_at_line(finding.end_line)
    if end_part is part:
        end_line, end_column = finding.end_line - part.first_line + 1, finding.end_column
    else:  # a multi-line node reaching past its cell cannot happen; keep the start line's end
        end_line, end_column = line, finding.column + 1
    fix = _cell_fix(module, finding.fix) if finding.fix is not None else None
    return replace(finding, line=line, end_line=end_line, end_column=end_column, cell=part.cell.number, fix=fix)


def _cell_fix(module: NotebookModule, fix: Fix) -> Fix | None:
    edits: list[Edit] = []
    for edit in fix.edits:
        part = module.part_at_offset(edit.start)
        if part is None or not part.start <= edit.end <= part.end:
            return None
        edits.append(
            Edit(
                _cell_offset(module, part, edit.start),
                _cell_offset(module, part, edit.end),
                edit.content,
                part.cell.number,
            )
        )
    return replace(fix, edits=tuple(edits))


def _cell_offset(module: NotebookModule, part: Part, offset: int) -> int:
    """A module offset as an offset into the cell's own source (masked lines differ in length)."""
    text = module.text[part.start : part.end]
    line, column = LineIndex(text).position(offset - part.start)
    source = part.cell.source
    lines = LineIndex(source)
    if line > len(lines.starts):
        return len(source)
    return min(lines.line_start(line) + column - 1, lines.line_end(line), len(source))


# --- fixing ----------------------------------------------------------------------------------------


@dataclass
class NotebookFix:
    sources: dict[int, str]  # the cells whose source changed, by number
    fixed: list[Finding]
    remaining: list[Finding]
    errors: list[CellError]


def fix_notebook(notebook: Notebook, config: Config, unsafe: bool) -> NotebookFix:
    """Rounds of fixes over the module (as ``fixer.fix_source``), keeping only fixes inside cells."""
    if notebook.language != "python" or not notebook.code_cells:
        return NotebookFix({}, [], [], [])
    prepared, findings = check_module(notebook, config)
    errors = prepared.errors
    module = prepared.module
    source = module.text
    fixed: list[Finding] = []
    seen = {source}
    for _ in range(MAX_ROUNDS):
        round_module = _rebuilt(module, source)
        if round_module is None:  # pragma: no cover - fixes inside cells keep every separator
            break
        chosen = choose_fixes([f for f in findings if _inside_cells(round_module, f)], unsafe)
        if not chosen:
            break
        chosen, candidate = apply_round(source, chosen)
        if not chosen or candidate in seen:
            break
        seen.add(candidate)
        source = candidate
        fixed.extend(to_cell_finding(round_module, f) for f in chosen)
        findings = check_source(source, notebook.path, config)
    final = _rebuilt(module, source)
    sources = module.split(source) or {}
    changed = {number: text for number, text in sources.items() if text != _cell(notebook, number).source}
    remaining = [to_cell_finding(final, f) for f in findings] if final is not None else []
    return NotebookFix(changed, fixed, remaining, errors)


def _cell(notebook: Notebook, number: int) -> Cell:
    return notebook.cells[number - 1]


def _inside_cells(module: NotebookModule, finding: Finding) -> bool:
    if finding.fix is None:
        return False
    for edit in finding.fix.edits:
        part = module.part_at_offset(edit.start)
        if part is None or not part.start <= edit.end <= part.end:
            return False
    return True


def _rebuilt(original: NotebookModule, text: str) -> NotebookModule | None:
    """The module layout of a fixed text: the same cells, their texts as the fixes left them."""
    matches = list(_SEPARATOR.finditer(text))
    if [int(m.group(1)) for m in matches] != [p.cell.number for p in original.parts]:
        return None
    parts: list[Part] = []
    lines = LineIndex(text)
    for index, (match, part) in enumerate(zip(matches, original.parts, strict=True)):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        first_line = lines.position(match.end())[0]
        parts.append(replace(part, first_line=first_line, start=match.end(), end=end))
    return NotebookModule(text, parts)
