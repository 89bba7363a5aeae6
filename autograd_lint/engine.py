"""The pure core: ``check_source(text, path, config) -> findings``.

One parse; one facts walk that also records, in source order, the nodes the rules visit; then
the rules, with the facts complete; then source positions, only for files with something to
report. No printing, no file I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import libcst as cst

from . import noqa
from .collect import FactsWalk, Visit, collect_top_level_imports, is_own_autograd_class
from .config import Config
from .context import FileContext
from .finding import Finding
from .fixes import FixResolver
from .imports import ImportTable
from .positions import LineIndex, node_ranges
from .registry import all_rules
from .rule import Rule
from .semantics import TorchSemantics
from .tree import SyntaxTree


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
    return "torch" in source and bool(triggered_rules(source, rules))


def triggered_rules(source: str, rules: Sequence[type[Rule]]) -> list[type[Rule]]:
    """The rules whose words the text contains: the others cannot fire, so they neither run
    nor ask the facts walk to record visits for them."""
    return [rule for rule in rules if not rule.triggers or any(word in source for word in rule.triggers)]


def check_source(source: str, path: str = "<stdin>", config: Config | None = None) -> list[Finding]:
    """Check one file's text. Raises ``SourceError`` when it does not parse."""
    config = config or Config()
    rules = enabled_rules(config, path)
    if not rules or not could_have_findings(source, rules):
        return []
    if noqa.skips_file(source):
        return []
    return run_rules(source, path, triggered_rules(source, rules))


def parse(source: str) -> cst.Module:
    try:
        return cst.parse_module(source)
    except cst.ParserSyntaxError as error:
        message = str(error.message if hasattr(error, "message") else error).strip().splitlines()[0]
        raise SourceError(f"syntax error: {message}", error.raw_line, error.raw_column + 1) from None
    except (RecursionError, MemoryError) as error:  # pragma: no cover - pathological input
        raise SourceError(f"cannot parse: {type(error).__name__}") from None


def run_rules(source: str, path: str, rule_classes: Sequence[type[Rule]]) -> list[Finding]:
    """Parse ``source`` and run these rules over it, in this order (which never changes the result)."""
    module = parse(source)
    context, visits = analyse(module, source, path, rule_classes)
    rules = [rule(context) for rule in rule_classes]
    visit, leave = _handlers(rules)
    for node, leaving in visits:
        for handler in (leave if leaving else visit).get(type(node), ()):
            handler(node)
    for rule in rules:
        rule.finish()
    if not any(rule.reports for rule in rules):
        return []
    return to_findings(context, rules)


# --- facts first --------------------------------------------------------------------------


def analyse(
    module: cst.Module, source: str, path: str, rule_classes: Sequence[type[Rule]]
) -> tuple[FileContext, list[Visit]]:
    """The file's complete facts, and the visits these rules asked for, before any rule runs."""
    imports = ImportTable()
    for statement in module.body:
        collect_top_level_imports(imports, statement)
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


def to_findings(context: FileContext, rules: Sequence[Rule]) -> list[Finding]:
    ranges = node_ranges(context.module)
    lines = LineIndex(context.source)
    resolver = FixResolver(context.module, context.source, ranges, lines)
    silenced = noqa.suppressions(context.source)
    findings: dict[tuple[str, int, int, str], Finding] = {}
    for rule in rules:
        for report in rule.reports:
            start, end = ranges[report.node]
            line, column = lines.position(start)
            end_line, end_column = lines.position(end)
            statement_line = lines.position(ranges[context.tree.statement_of(report.node)][0])[0]
            if noqa.suppressed(silenced, rule.code, rule.name, line, statement_line):
                continue
            finding = Finding(
                code=rule.code,
                name=rule.name,
                message=report.message,
                path=context.path,
                line=line,
                column=column,
                end_line=end_line,
                end_column=end_column,
                fix=resolver.resolve(report.fix) if report.fix else None,
            )
            findings.setdefault((finding.code, line, column, report.message), finding)
    return sorted(findings.values(), key=lambda f: f.sort_key)
