"""The pure core: ``check_source(text, path, config) -> findings``.

One parse, one walk over the tree for the shared analysis and every rule, and source
positions only for files with something to report. No printing, no file I/O.
"""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Iterable, Sequence

import libcst as cst

from .analysis import child_fields, dotted_name, is_node_type, method_call
from .config import Config
from .context import (
    TENSOR_FACTORIES,
    FileContext,
    InsertStatement,
    PendingFix,
    RemoveStatement,
    Replace,
    ReplaceStatement,
    call_makes_leaf_requiring_grad,
)
from .finding import Edit, Finding, Fix
from .positions import LineIndex, node_ranges
from .registry import all_rules
from .rule import Rule


class SourceError(Exception):
    """The source cannot be checked (a syntax error); line and column are 1-based."""

    def __init__(self, message: str, line: int = 1, column: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


def enabled_rules(config: Config, path: str | None) -> list[type[Rule]]:
    return [rule for rule in all_rules() if config.enabled(rule.code, rule.name, path)]


def could_have_findings(source: str, rules: Sequence[type[Rule]]) -> bool:
    """A text pre-check: every finding needs torch imported and one of a rule's words."""
    if "torch" not in source:
        return False
    return any(not rule.triggers or any(word in source for word in rule.triggers) for rule in rules)


def check_source(source: str, path: str = "<stdin>", config: Config | None = None) -> list[Finding]:
    """Check one file's text. Raises ``SourceError`` when it does not parse."""
    config = config or Config()
    rules = enabled_rules(config, path)
    if not rules or not could_have_findings(source, rules):
        return []
    if _SKIP_FILE.search(source) and _skip_file(source):
        return []
    module = parse(source)
    context = FileContext(module=module, source=source, path=path)
    run_rules(context, [rule(context) for rule in rules])
    if not context.reports:
        return []
    return to_findings(context)


def parse(source: str) -> cst.Module:
    try:
        return cst.parse_module(source)
    except cst.ParserSyntaxError as error:
        message = str(error.message if hasattr(error, "message") else error).strip().splitlines()[0]
        raise SourceError(f"syntax error: {message}", error.raw_line, error.raw_column + 1) from None
    except (RecursionError, MemoryError) as error:  # pragma: no cover - pathological input
        raise SourceError(f"cannot parse: {type(error).__name__}") from None


# --- the walk ----------------------------------------------------------------------------


def run_rules(context: FileContext, rules: Sequence[Rule]) -> None:
    for statement in context.module.body:
        _collect_top_level_imports(context, statement)
    context.own_autograd = any(_is_own_autograd_class(context, s) for s in context.module.body)
    visit: dict[type, list] = {}
    leave: dict[type, list] = {}
    for rule in rules:
        for attribute in dir(rule):
            if attribute.startswith(("visit_", "leave_")):
                node_type = getattr(cst, attribute[6:], None)
                if isinstance(node_type, type):
                    table = visit if attribute.startswith("visit_") else leave
                    table.setdefault(node_type, []).append(getattr(rule, attribute))
    _walk(context, visit, leave)
    for rule in rules:
        rule.finish()


def _collect_top_level_imports(context: FileContext, statement: cst.CSTNode) -> None:
    """Imports at module level, also under ``if``/``try`` (``try: import torch``)."""
    if isinstance(statement, cst.SimpleStatementLine):
        for small in statement.body:
            if isinstance(small, (cst.Import, cst.ImportFrom)):
                context.imports.add(small)
    elif isinstance(statement, (cst.If, cst.Else, cst.Try, cst.ExceptHandler, cst.Finally)):
        block = statement.body
        for line in getattr(block, "body", ()):
            _collect_top_level_imports(context, line)
        for part in (getattr(statement, "orelse", None), getattr(statement, "finalbody", None)):
            if part is not None:
                _collect_top_level_imports(context, part)
        for handler in getattr(statement, "handlers", ()):
            _collect_top_level_imports(context, handler)


def _is_own_autograd_class(context: FileContext, statement: cst.CSTNode) -> bool:
    """A module-level class with a ``backward`` method that is not a torch
    ``autograd.Function`` or ``nn.Module``: the file's own autograd engine."""
    if not isinstance(statement, cst.ClassDef) or not isinstance(statement.body, cst.IndentedBlock):
        return False
    if any((context.qualified(base.value) or "").startswith("torch.") for base in statement.bases):
        return False
    if any(not isinstance(base.value, cst.Name) or base.value.value not in ("object",) for base in statement.bases):
        return False  # a subclass of something we cannot see
    return any(isinstance(s, cst.FunctionDef) and s.name.value == "backward" for s in statement.body.body)


_LEAVE = object()


def _walk(context: FileContext, visit: dict, leave: dict) -> None:
    parents = context.parents
    collect = _FactCollector(context)
    stack: list = [context.module]
    no_grad_depth = 0
    while stack:
        node = stack.pop()
        if node is _LEAVE:
            node = stack.pop()
            handlers = leave.get(type(node))
            if handlers:
                for handler in handlers:
                    handler(node)
            if isinstance(node, cst.With) and collect.is_no_grad_with(node):
                no_grad_depth -= 1
            continue
        node_type = type(node)
        collector = _COLLECTORS.get(node_type)
        if collector is not None:
            collector(collect, node, no_grad_depth)
        if node_type is cst.With and collect.is_no_grad_with(node):
            no_grad_depth += 1
        handlers = visit.get(node_type)
        if handlers:
            for handler in handlers:
                handler(node)
        stack.append(node)
        stack.append(_LEAVE)
        kids: list = []
        for name in child_fields(node_type):
            value = getattr(node, name)
            value_type = type(value)
            if value_type is tuple or value_type is list:
                kids.extend(item for item in value if is_node_type(type(item)))
            elif is_node_type(value_type):
                kids.append(value)
        for kid in kids:
            parents[kid] = node
        kids.reverse()
        stack.extend(kids)


class _FactCollector:
    """Fills the context's file-wide facts as the walk meets the nodes that carry them."""

    def __init__(self, context: FileContext) -> None:
        self.context = context
        self._no_grad_cache: dict = {}

    def is_no_grad_with(self, node: cst.With) -> bool:
        cached = self._no_grad_cache.get(node)
        if cached is None:
            cached = self._no_grad_cache[node] = any(self.context.is_no_grad(i.item) for i in node.items)
        return cached

    def imports(self, node, _depth) -> None:
        self.context.imports.add(node)

    def function(self, node: cst.FunctionDef, _depth) -> None:
        self.context.functions.setdefault(node.name.value, []).append(node)

    def loop(self, node, _depth) -> None:
        self.context.loops.append(node)
        if isinstance(node, cst.For) and isinstance(node.iter, cst.Call):
            method = method_call(node.iter, "parameters", "named_parameters")
            if method is not None:
                target = node.target
                if (
                    method.attr.value == "named_parameters"
                    and isinstance(target, cst.Tuple)
                    and len(target.elements) == 2
                ):
                    target = target.elements[1].value
                name = dotted_name(target)
                if name:
                    self.context.tensor_names.add(name)

    def call(self, node: cst.Call, depth: int) -> None:
        context = self.context
        target = context.backward_target(node)
        if target is not None:
            context.backward_calls.append(node)
            name = dotted_name(target)
            if name:
                context.backward_targets.add(name)
        func = node.func
        if type(func) is cst.Name:
            context.calls_by_name.setdefault(func.value, []).append(node)
        elif type(func) is cst.Attribute and type(func.value) is cst.Name and func.value.value in ("self", "cls"):
            context.calls_by_name.setdefault(func.attr.value, []).append(node)
        if depth and isinstance(node.func, cst.Name):
            context.no_grad_callees.add(node.func.value)

    def assign(self, node: cst.Assign, _depth) -> None:
        context = self.context
        value = node.value
        kinds = self._value_kinds(value)
        if not kinds:
            return
        for target in node.targets:
            name = dotted_name(target.target)
            if name is None:
                continue
            if "tensor" in kinds:
                context.tensor_names.add(name)
            if "torch" in kinds:
                context.torch_made_names.add(name)
            if "requires_grad" in kinds:
                context.requires_grad_names.add(name)
            if "grad" in kinds:
                context.grad_aliases.add(name)
            if "optimizer" in kinds:
                context.optimizer_names.add(name)

    def _value_kinds(self, value: cst.BaseExpression) -> set[str]:
        context = self.context
        kinds: set[str] = set()
        base = value
        if isinstance(base, cst.Attribute) and base.attr.value == "data":
            base = base.value
        if isinstance(base, cst.Attribute) and base.attr.value == "grad":
            return {"grad", "tensor"}
        if not isinstance(value, cst.Call):
            return kinds
        qualified = context.qualified(value.func)
        if qualified is not None:
            kinds.add("torch")
            if qualified.startswith("torch.optim.") and ".lr_scheduler" not in qualified:
                kinds.add("optimizer")
            elif qualified.endswith("GradScaler"):
                kinds.add("optimizer")
            elif qualified in TENSOR_FACTORIES or qualified in ("torch.nn.Parameter", "torch.autograd.Variable"):
                kinds.add("tensor")
        if call_makes_leaf_requiring_grad(context, value):
            kinds.update(("tensor", "requires_grad"))
        if method_call(value, "requires_grad_") is not None:
            kinds.update(("tensor", "requires_grad"))
        return kinds


_COLLECTORS = {
    cst.Import: _FactCollector.imports,
    cst.ImportFrom: _FactCollector.imports,
    cst.FunctionDef: _FactCollector.function,
    cst.For: _FactCollector.loop,
    cst.While: _FactCollector.loop,
    cst.Call: _FactCollector.call,
    cst.Assign: _FactCollector.assign,
}


# --- from reports to findings ------------------------------------------------------------------


def to_findings(context: FileContext) -> list[Finding]:
    ranges = node_ranges(context.module)
    lines = LineIndex(context.source)
    suppressions = _noqa_lines(context.source) if "noqa" in context.source else {}
    findings: dict[tuple, Finding] = {}
    for report in context.reports:
        start, end = ranges[report.node]
        line, column = lines.position(start)
        end_line, end_column = lines.position(end)
        statement_line = lines.position(ranges[context.statement_of(report.node)][0])[0]
        rule = report.rule
        if _suppressed(suppressions, rule, line, statement_line):
            continue
        fix = _resolve_fix(report.fix, context, ranges, lines) if report.fix else None
        finding = Finding(
            code=rule.code,
            name=rule.name,
            message=report.message,
            path=context.path,
            line=line,
            column=column,
            end_line=end_line,
            end_column=end_column,
            fix=fix,
        )
        findings.setdefault((finding.code, line, column, report.message), finding)
    return sorted(findings.values(), key=lambda f: f.sort_key)


def _resolve_fix(pending: PendingFix, context: FileContext, ranges: dict, lines: LineIndex) -> Fix | None:
    source = context.source
    newline = context.module.default_newline
    edits: list[Edit] = []
    for edit in pending.edits:
        if isinstance(edit, Replace):
            start, end = ranges[edit.node]
            edits.append(Edit(start, end, edit.code))
        elif isinstance(edit, InsertStatement):
            start, end = ranges[edit.anchor]
            first_line = lines.position(start)[0]
            line_start = lines.line_start(first_line)
            indent = source[line_start:start]
            if indent.strip():
                return None  # the anchor shares its line with other code
            text = "".join(indent + line + newline for line in edit.lines)
            if edit.after:
                last_line = lines.position(max(end - 1, start))[0]
                at = lines.line_end(last_line)
                if at == len(source) and not source.endswith(("\n", "\r")):
                    text = newline + text.rstrip("\r\n")
                edits.append(Edit(at, at, text))
            else:
                edits.append(Edit(line_start, line_start, text))
        elif isinstance(edit, RemoveStatement):
            start, end = ranges[edit.statement]
            first_line = lines.position(start)[0]
            last_line = lines.position(max(end - 1, start))[0]
            line_start = lines.line_start(first_line)
            if source[line_start:start].strip():
                return None
            edits.append(Edit(line_start, lines.line_end(last_line), ""))
        elif isinstance(edit, ReplaceStatement):
            start, end = ranges[edit.statement]
            first_line = lines.position(start)[0]
            last_line = lines.position(max(end - 1, start))[0]
            line_start = lines.line_start(first_line)
            indent = source[line_start:start]
            if indent.strip():
                return None
            line_end = lines.line_end(last_line)
            tail = source[end:line_end].rstrip("\r\n")
            ending = source[end + len(tail) : line_end]
            unit = context.module.default_indent
            body = [indent + unit * level + code for level, code in edit.lines]
            body[edit.comment_line] += tail
            edits.append(Edit(line_start, line_end, newline.join(body) + ending))
    return Fix(pending.description, pending.applicability, tuple(sorted(edits, key=lambda e: (e.start, e.end))))


# --- suppression comments ----------------------------------------------------------------------

_SKIP_FILE = re.compile(r"#\s*autograd-lint\s*:\s*skip-file")
_NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[\w-]+(?:[\s,]+[\w-]+)*))?", re.IGNORECASE)


def _comments(source: str) -> Iterable[tuple[int, str]]:
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.COMMENT:
                yield token.start[0], token.string
    except (tokenize.TokenError, SyntaxError):
        return


def _skip_file(source: str) -> bool:
    return any(_SKIP_FILE.match(comment) for _, comment in _comments(source))


def _noqa_lines(source: str) -> dict[int, frozenset[str] | None]:
    """Line -> codes silenced there (``None``: all of them)."""
    result: dict[int, frozenset[str] | None] = {}
    for line, comment in _comments(source):
        match = _NOQA.search(comment)
        if match is None:
            continue
        codes = match.group("codes")
        result[line] = None if not codes else frozenset(re.split(r"[\s,]+", codes.strip()))
    return result


def _suppressed(suppressions: dict, rule: type[Rule] | Rule, *lines: int) -> bool:
    for line in lines:
        if line in suppressions:
            codes = suppressions[line]
            if codes is None or rule.code in codes or rule.name in codes:
                return True
            if any(rule.code.startswith(code.upper()) for code in codes if code.upper().startswith("AGL")):
                return True
    return False
