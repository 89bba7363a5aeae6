"""The static check of a live session: one cell, read against the cells that ran before it.

Checking the whole history again for every cell would cost a parse of hundreds of cells each
time. Each cell is summarised once, with Python's own ``ast``: its top-level statements, the names
each binds and the names each mentions. For a new cell only the statements that can matter to it
go into the module before it: every import, every class with its own ``backward`` (it changes what
``.backward()`` means), and, walking back from the newest, each statement that mentions a name the
cell (or a statement already taken for binding one of its names) mentions. A statement that
binds a needed name adds its own names to the needed ones; one that only reads or mutates them
(``x.requires_grad_()``, an earlier loop) is taken without growing the set. Findings are kept only
where they fall in the new cell, so the history need not be the cells' own text, only what
decides the new cell's facts.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, replace

from .config import Config
from .engine import SourceError, check_source
from .finding import Finding
from .ipython_syntax import mask_cell, python_error

SEPARATOR = "#<autograd-lint: the cell being run>\n"
_LINES = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")
_PLACEHOLDER_NAME = re.compile(r"^__ipython_\d+__$")


@dataclass(frozen=True)
class Statement:
    text: str  # whole lines, ending with a newline
    binds: frozenset[str]
    mentions: frozenset[str]
    always: bool  # an import, or a class of the user's own autograd


@dataclass(frozen=True)
class CellSummary:
    text: str | None  # the cell as Python (masked); None when it is not Python
    statements: tuple[Statement, ...] = ()
    mentions: frozenset[str] = frozenset()


class SessionChecker:
    """Holds a session's executed cells and checks a new one against them."""

    def __init__(self, config: Config | None = None, path: str = "<notebook>") -> None:
        self.config = config or Config()
        self.path = path
        self.history: list[CellSummary] = []
        self._summaries: dict[str, CellSummary] = {}

    def add(self, source: str) -> None:
        """A cell that ran: later cells are checked against it."""
        summary = self.summary(source)
        if summary.statements:
            self.history.append(summary)

    def check(self, source: str) -> list[Finding]:
        """The findings that fall in ``source``, run after the history; lines count from the cell's first."""
        summary = self.summary(source)
        if summary.text is None:
            return []
        prefix = self.relevant_history(summary)
        module = prefix + SEPARATOR + summary.text
        offset = prefix.count("\n") + 1  # the separator line
        try:
            findings = check_source(module, self.path, self.config)
        except SourceError:
            return []  # a cell libcst cannot read; running it will say what is wrong, if anything
        shifted = []
        for finding in findings:
            if finding.line > offset:
                shifted.append(_shift(finding, offset))
        return shifted

    def relevant_history(self, summary: CellSummary) -> str:
        needed = set(summary.mentions)
        taken: list[str] = []
        for cell in reversed(self.history):
            for statement in reversed(cell.statements):
                if statement.always:
                    taken.append(statement.text)
                elif statement.binds & needed:
                    taken.append(statement.text)
                    needed |= statement.mentions
                elif statement.mentions & needed:
                    taken.append(statement.text)
        taken.reverse()
        return "".join(taken)

    def summary(self, source: str) -> CellSummary:
        cached = self._summaries.get(source)
        if cached is None:
            cached = self._summaries[source] = summarise(source)
        return cached


def _shift(finding: Finding, offset: int) -> Finding:
    return replace(finding, line=finding.line - offset, end_line=max(finding.end_line - offset, 1), fix=None)


def summarise(source: str) -> CellSummary:
    masked = mask_cell(source)
    if masked is None or python_error(masked.text) is not None:
        return CellSummary(None)
    text = masked.text
    tree = ast.parse(text)
    lines = _LINES.findall(text)
    statements: list[Statement] = []
    mentions: set[str] = set()
    taken_until = 0
    for node in tree.body:
        start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", ())])
        end = node.end_lineno or node.lineno
        start = max(start, taken_until + 1)  # two statements on one line (a = 1; b = 2): the line once
        binds, names = _names(node)
        mentions |= names
        if start > end:
            # Its line went with the statement before: merge what it binds and mentions into that one.
            last = statements[-1]
            statements[-1] = Statement(
                last.text, last.binds | binds, last.mentions | names, last.always or _always(node)
            )
            continue
        body = "".join(lines[start - 1 : end])
        if not body.endswith(("\n", "\r")):
            body += "\n"
        statements.append(Statement(body, frozenset(binds), frozenset(names), _always(node)))
        taken_until = end
    return CellSummary(text, tuple(statements), frozenset(mentions))


def _always(node: ast.stmt) -> bool:
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return True
    if isinstance(node, (ast.If, ast.Try)):
        return any(isinstance(n, (ast.Import, ast.ImportFrom)) for n in ast.walk(node))
    if isinstance(node, ast.ClassDef):  # a class of the file's own with a backward(): micrograd-style
        return any(isinstance(s, ast.FunctionDef) and s.name == "backward" for s in node.body)
    return False


def _names(node: ast.stmt) -> tuple[set[str], set[str]]:
    """The module-level names ``node`` binds, and every name it mentions (bodies of functions too)."""
    binds: set[str] = set()
    mentions: set[str] = set()

    def visit(child: ast.AST, module_level: bool) -> None:
        if isinstance(child, ast.Name):
            if not _PLACEHOLDER_NAME.match(child.id):
                mentions.add(child.id)
                if module_level and isinstance(child.ctx, ast.Store):
                    binds.add(child.id)
            return
        if isinstance(child, (ast.Import, ast.ImportFrom)):
            names = {(alias.asname or alias.name).split(".")[0] for alias in child.names}
            mentions.update(names)
            if module_level:
                binds.update(names)
            return
        if isinstance(child, ast.Global):
            binds.update(child.names)
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            mentions.add(child.name)
            if module_level:
                binds.add(child.name)
            module_level = False  # what its body binds is its own
        for grandchild in ast.iter_child_nodes(child):
            visit(grandchild, module_level)

    visit(node, True)
    return binds, mentions
