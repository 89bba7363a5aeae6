"""The pure core: ``check_source(text, path, config) -> findings``.

One parse; one facts walk that also records, in source order, the nodes the rules visit; then
the rules, with the facts complete; then source positions, only for files with something to
report. No printing, no file I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import libcst as cst

from . import noqa
from .catalog import could_have_findings
from .collect import FactsWalk, Visit, collect_top_level_imports, is_own_autograd_class
from .config import Config
from .context import FileContext
from .finding import Finding
from .fixes import FixResolver, TextRange
from .imports import ImportTable
from .lines import LineIndex
from .parsing import DEFAULT_MAX_FILE_SIZE, ParseError, parse_module, run_deep
from .positions import NodeRanges
from .registry import all_rules
from .rule import Report, Rule
from .semantics import TorchSemantics
from .syntax_errors import SourceError
from .tree import SyntaxTree

__all__ = ["SourceError", "check_source", "could_have_findings", "enabled_rules", "parse", "run_rules"]


def enabled_rules(config: Config, path: str | None) -> list[type[Rule]]:
    return [rule for rule in all_rules() if config.enabled(rule.code, rule.name, path)]


def triggered_rules(source: str, rules: Sequence[type[Rule]]) -> list[type[Rule]]:
    """The rules whose words the text contains: the others cannot fire, so they neither run
    nor ask the facts walk to record visits for them."""
    return [rule for rule in rules if not rule.triggers or any(word in source for word in rule.triggers)]


def check_source(
    source: str, path: str = "<stdin>", config: Config | None = None, *, honor_noqa: bool = True
) -> list[Finding]:
    """Check one file's text. Raises ``SourceError`` when it does not parse. Without
    ``honor_noqa`` the suppression comments are ignored (flake8's ``--disable-noqa``)."""
    config = config or Config()
    rules = enabled_rules(config, path)
    if not rules or not could_have_findings(source, rules):
        return []
    if honor_noqa and noqa.skips_file(source):
        return []
    rules = triggered_rules(source, rules)
    try:
        return run_rules(source, path, rules, honor_noqa, config.max_file_size)
    except RecursionError:
        pass
    # libcst's code generation recurses per level of nesting, and a long call chain is valid
    # Python: again in a thread with a deep stack (only then: such a thread runs slower).
    try:
        return run_deep(run_rules, source, path, rules, honor_noqa, config.max_file_size)
    except RecursionError:
        raise SourceError("too deeply nested for the checker") from None


def parse(source: str, max_size: int | None = DEFAULT_MAX_FILE_SIZE) -> cst.Module:
    """libcst's tree, or ``SourceError``: a syntax error in Python's words, valid Python that libcst
    cannot read, a file too deep for the native parser (which would crash the process) or too big."""
    try:
        return parse_module(source, max_size)
    except ParseError as error:
        raise SourceError(error.message, error.line, error.column) from None
    except MemoryError:  # pragma: no cover - pathological input
        raise SourceError("cannot parse: out of memory") from None


def run_rules(
    source: str,
    path: str,
    rule_classes: Sequence[type[Rule]],
    honor_noqa: bool = True,
    max_size: int | None = DEFAULT_MAX_FILE_SIZE,
) -> list[Finding]:
    """Parse ``source`` and run these rules over it, in this order (which never changes the result)."""
    module = parse(source, max_size)
    context, visits = analyse(module, source, path, rule_classes)
    rules = [rule(context) for rule in rule_classes]
    visit, leave = _handlers(rules)
    for node, leaving in visits:
        for handler in (leave if leaving else visit).get(type(node), ()):
            handler(node)
    for rule in rules:
        rule.finish()
    return to_findings(context, rules, honor_noqa)


# --- facts first --------------------------------------------------------------------------


def analyse(
    module: cst.Module, source: str, path: str, rule_classes: Sequence[type[Rule]]
) -> tuple[FileContext, list[Visit]]:
    """The file's complete facts, and the visits these rules asked for, before any rule runs."""
    imports = ImportTable()
    for statement in module.body:
        collect_top_level_imports(imports, statement)
    if imports.imports_torch:
        for statement in module.body:
            imports.add_wrapper(statement)
    own_autograd = any(is_own_autograd_class(imports, s) for s in module.body)
    torch = TorchSemantics(imports, SyntaxTree(module), own_autograd)
    context = FileContext(module, source, path, torch)
    wanted, wanted_leave = _visited_types(rule_classes)
    facts, visits = FactsWalk(torch.tree, torch, wanted, wanted_leave).run()
    context.seal(facts)
    return context, visits


def _visited_types(rule_classes: Sequence[type[Rule]]) -> tuple[frozenset[type], frozenset[type]]:
    visit: set[type] = set()
    leave: set[type] = set()
    for rule in rule_classes:
        for attribute in dir(rule):
            if attribute.startswith(("visit_", "leave_")):
                node_type = getattr(cst, attribute[6:], None)
                if isinstance(node_type, type):
                    (visit if attribute.startswith("visit_") else leave).add(node_type)
    return frozenset(visit), frozenset(leave)


Handler = Callable[[cst.CSTNode], None]


def _handlers(rules: Sequence[Rule]) -> tuple[dict[type, list[Handler]], dict[type, list[Handler]]]:
    visit: dict[type, list[Handler]] = {}
    leave: dict[type, list[Handler]] = {}
    for rule in rules:
        for attribute in dir(rule):
            if attribute.startswith(("visit_", "leave_")):
                node_type = getattr(cst, attribute[6:], None)
                if isinstance(node_type, type):
                    table = visit if attribute.startswith("visit_") else leave
                    table.setdefault(node_type, []).append(getattr(rule, attribute))
    return visit, leave


# --- from reports to findings ------------------------------------------------------------------


def to_findings(context: FileContext, rules: Sequence[Rule], honor_noqa: bool = True) -> list[Finding]:
    """The rules' reports as findings: positioned, suppressed by ``noqa``, fixes resolved.

    The rules that review the suppressions run last, once it is known which ``noqa`` comments
    suppressed something; their own reports are not suppressed again.
    """
    directives = noqa.directives(context.source) if honor_noqa else []
    if not directives and not any(rule.reports for rule in rules):
        return []
    enabled = [(rule.code, rule.name) for rule in rules]
    usage = noqa.SuppressionUsage(directives, enabled, noqa.comment_lines(context.source) if directives else {})
    positions = _Positions(context)
    findings: dict[tuple[str, int, int, str], Finding] = {}
    for rule in rules:
        for report in rule.reports:
            finding = positions.finding(rule, report)
            statement_line = positions.statement_line(report.node)
            if not usage.suppresses(rule.code, rule.name, finding.line, statement_line):
                findings.setdefault((finding.code, finding.line, finding.column, report.message), finding)
    for rule in rules:
        already = len(rule.reports)
        rule.review_suppressions(usage)
        for report in rule.reports[already:]:
            finding = positions.finding(rule, report)
            findings.setdefault((finding.code, finding.line, finding.column, report.message), finding)
    return sorted(findings.values(), key=lambda f: f.sort_key)


class _Positions:
    """Offsets, lines and fixes for one file's reports; the node ranges only of the statements
    reports are about (a file whose only report is about a comment needs no code generation)."""

    def __init__(self, context: FileContext) -> None:
        self.context = context
        self.lines = LineIndex(context.source)
        self.ranges = NodeRanges(context.module, context.source, context.tree.parents)
        self._resolver: FixResolver | None = None

    def extent(self, node: cst.CSTNode | TextRange) -> tuple[int, int]:
        return (node.start, node.end) if isinstance(node, TextRange) else self.ranges[node]

    def statement_line(self, node: cst.CSTNode | TextRange) -> int:
        if isinstance(node, TextRange):
            return self.lines.position(node.start)[0]
        return self.lines.position(self.ranges[self.context.tree.statement_of(node)][0])[0]

    def finding(self, rule: Rule, report: Report) -> Finding:
        start, end = self.extent(report.node)
        line, column = self.lines.position(start)
        end_line, end_column = self.lines.position(end)
        fix = None
        if report.fix is not None:
            if self._resolver is None:
                self._resolver = FixResolver(self.context.module, self.context.source, self.ranges, self.lines)
            fix = self._resolver.resolve(report.fix)
        return Finding(
            code=rule.code,
            name=rule.name,
            message=report.message,
            path=self.context.path,
            line=line,
            column=column,
            end_line=end_line,
            end_column=end_column,
            fix=fix,
        )
