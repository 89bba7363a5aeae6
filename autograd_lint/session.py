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
import builtins
import re
from dataclasses import dataclass, replace

from .config import Config
from .engine import SourceError, check_source
from .finding import Finding
from .ipython_syntax import mask_cell, python_error

SEPARATOR = "#<autograd-lint: the cell being run>\n"
# Every loop mentions range(): builtins say nothing about tensors.
_BUILTINS = frozenset(dir(builtins))
_LINES = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")
_PLACEHOLDER_NAME = re.compile(r"^__ipython_\d+__$")


@dataclass(frozen=True)
class Statement:
    text: str  # whole lines, ending with a newline
    binds: frozenset[str]  # module-level names it may bind
    settles: frozenset[str]  # names it binds whatever happens (a plain assignment, def, class, import)
    reads: frozenset[str]  # names whose values it uses
    mentions: frozenset[str]
    always: bool  # an import, or a class of the user's own autograd


@dataclass(frozen=True)
class CellSummary:
    text: str | None  # the cell as Python (masked); None when it is not Python
    statements: tuple[Statement, ...] = ()
    # The names the cell uses before binding them itself: what the history has to explain.
    free: frozenset[str] = frozenset()
    imported: frozenset[str] = frozenset()  # names its imports bind


class SessionChecker:
    """Holds a session's executed cells and checks a new one against them."""

    def __init__(self, config: Config | None = None, path: str = "<notebook>") -> None:
        self.config = config or Config()
        self.path = path
        self.history: list[CellSummary] = []
        self._summaries: dict[str, CellSummary] = {}
        # Modules: every import is in the history module anyway, and "mentions torch" would take
        # nearly every statement of a session.
        self._imported: set[str] = set()

    def add(self, source: str) -> None:
        """A cell that ran: later cells are checked against it."""
        summary = self.summary(source)
        if summary.statements:
            self.history.append(summary)
            self._imported |= summary.imported

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
        modules = self._imported | summary.imported | _BUILTINS
        needed = set(summary.free) - modules
        taken: list[str] = []
        for cell in reversed(self.history):
            for statement in reversed(cell.statements):
                if statement.always:
                    taken.append(statement.text)
                    needed -= statement.settles
                elif statement.binds & needed:
                    # The newest binding that surely ran decides the name: older ones, and what
                    # read them, no longer matter to this cell.
                    taken.append(statement.text)
                    needed -= statement.settles
                    needed |= statement.reads - modules
                elif statement.mentions & needed:
                    taken.append(statement.text)  # a use or mutation of what the cell sees
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
    free: set[str] = set()
    settled: set[str] = set()
    imported: set[str] = set()
    taken_until = 0
    for node in tree.body:
        start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", ())])
        end = node.end_lineno or node.lineno
        start = max(start, taken_until + 1)  # two statements on one line (a = 1; b = 2): the line once
        binds, reads, names = _names(node)
        settles = binds if isinstance(node, _SETTLING) else set()
        # A name bound only in a branch or a loop may still hold what the history left in it.
        free |= (reads | (binds - settles - _loop_targets(node))) - settled
        settled |= settles
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            imported |= binds
        if start > end:
            # Its line went with the statement before (a = 1; b = 2): one statement of both.
            last = statements[-1]
            statements[-1] = Statement(
                last.text,
                last.binds | binds,
                last.settles | settles,
                last.reads | reads,
                last.mentions | names,
                last.always or _always(node),
            )
            continue
        body = "".join(lines[start - 1 : end])
        if not body.endswith(("\n", "\r")):
            body += "\n"
        always = _always(node)
        statements.append(
            Statement(body, frozenset(binds), frozenset(settles), frozenset(reads), frozenset(names), always)
        )
        taken_until = end
    return CellSummary(text, tuple(statements), frozenset(free), frozenset(imported))


# Statements whose bindings happen whenever they run (not only in some branch or iteration).
_SETTLING = (ast.Assign, ast.AnnAssign, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)


def _loop_targets(node: ast.stmt) -> set[str]:
    """The names a loop binds as its targets: the cell's own counters, whatever the history left."""
    return {
        n.id
        for loop in ast.walk(node)
        if isinstance(loop, (ast.For, ast.AsyncFor))
        for n in ast.walk(loop.target)
        if isinstance(n, ast.Name)
    }


def _always(node: ast.stmt) -> bool:
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return True
    if isinstance(node, (ast.If, ast.Try)):
        return any(isinstance(n, (ast.Import, ast.ImportFrom)) for n in ast.walk(node))
    if isinstance(node, ast.ClassDef):  # a class of the file's own with a backward(): micrograd-style
        return any(isinstance(s, ast.FunctionDef) and s.name == "backward" for s in node.body)
    return False


def _names(node: ast.stmt) -> tuple[set[str], set[str], set[str]]:
    """The module-level names ``node`` binds, the names whose values it reads (in a function: its
    free names, not its parameters and locals), and both together: what it mentions."""
    binds: set[str] = set()
    reads: set[str] = set()

    def visit(child: ast.AST) -> None:
        if isinstance(child, ast.Name):
            if not _PLACEHOLDER_NAME.match(child.id):
                (binds if isinstance(child.ctx, ast.Store) else reads).add(child.id)
            return
        if isinstance(child, (ast.Import, ast.ImportFrom)):
            binds.update((alias.asname or alias.name).split(".")[0] for alias in child.names)
            return
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            reads.update(_free_names(child))
            if not isinstance(child, ast.Lambda):
                binds.add(child.name)
                binds.update(_global_stores(child))
            return
        if isinstance(child, ast.ClassDef):
            binds.add(child.name)
            for part in (*child.bases, *child.keywords, *child.decorator_list):
                visit(part)
            for statement in child.body:  # class attributes are the class's own; methods read globals
                class_binds = set(binds)
                visit(statement)
                binds.intersection_update(class_binds)
            return
        for grandchild in ast.iter_child_nodes(child):
            visit(grandchild)

    visit(node)
    if isinstance(node, ast.AugAssign) or isinstance(node, ast.AnnAssign) and node.value is None:
        reads |= binds  # x += 1 reads x; x: int binds nothing
    return binds, reads, binds | reads


def _global_stores(function: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """The module-level names a function binds through ``global`` (``def setup(): global model``)."""
    declared = {name for n in ast.walk(function) if isinstance(n, ast.Global) for name in n.names}
    if not declared:
        return set()
    return {n.id for n in ast.walk(function) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)} & declared


def _free_names(function: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> set[str]:
    """The names a function reads from outside: loads, minus its parameters and local bindings.
    Decorators and defaults are read where it is defined, and count too."""
    arguments = function.args
    local = {a.arg for a in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs)}
    local |= {a.arg for a in (arguments.vararg, arguments.kwarg) if a is not None}
    declared_global: set[str] = set()
    loads: set[str] = set()
    body = function.body if isinstance(function.body, list) else [function.body]
    for statement in body:
        for child in ast.walk(statement):
            if isinstance(child, ast.Name):
                (local if isinstance(child.ctx, ast.Store) else loads).add(child.id)
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                local.add(child.name)
            elif isinstance(child, (ast.Import, ast.ImportFrom)):
                local.update((alias.asname or alias.name).split(".")[0] for alias in child.names)
            elif isinstance(child, (ast.Global, ast.Nonlocal)):
                declared_global.update(child.names)
    outside = [*arguments.defaults, *(d for d in arguments.kw_defaults if d is not None)]
    outside += getattr(function, "decorator_list", [])
    for part in outside:
        loads.update(n.id for n in ast.walk(part) if isinstance(n, ast.Name))
    return {n for n in loads - (local - declared_global) if not _PLACEHOLDER_NAME.match(n)}
