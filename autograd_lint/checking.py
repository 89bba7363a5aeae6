"""``autograd-lint check``, once its options are read: settings per file, the files, the
pipeline, the report and the exit code. ``cli.py`` imports this only when a check runs."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import click

from .cache import ResultCache, cache_directory
from .config import ConfigError, Overrides, common_parent
from .files import discover
from .finding import Finding
from .formatters import Unchecked, render, render_error, render_statistics
from .pipeline import Mode, Outcome, check_paths, check_stdin
from .reporting import emit_report
from .resolver import ConfigResolver

STDIN = "-"


@dataclass(frozen=True)
class ReportOptions:
    fmt: str = "text"
    output: str | None = None
    statistics: bool = False
    show_fixes: bool = False
    quiet: bool = False
    color: bool = False


@dataclass(frozen=True)
class CheckRequest:
    paths: tuple[str, ...]
    mode: Mode
    overrides: Overrides
    report: ReportOptions
    jobs: int = 0
    force_exclude: bool = False
    stdin_filename: str | None = None
    exit_zero: bool = False
    exit_non_zero_on_fix: bool = False
    cache: bool = True
    cache_dir: str | None = None
    named: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "named", tuple(p for p in self.paths if p != STDIN))


def fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


def run_check(request: CheckRequest) -> int:
    """The exit code of one ``check``; prints the report and the error lines."""
    mode, options = request.mode, request.report
    if mode.add_noqa and (mode.fixing or STDIN in request.paths):
        fail("--add-noqa edits files in place: it cannot be combined with --fix, --diff or '-' (stdin)")
    try:
        resolver = ConfigResolver(request.overrides)
        discovery = discover(request.named, resolver, force_exclude=request.force_exclude)
        configs = [resolver.config_for(path) for path in discovery.files]
        stdin_config = resolver.config_for(request.stdin_filename or Path.cwd())
        project_root = resolver.config_for(common_parent(request.named)).root or Path.cwd()
    except ConfigError as error:
        fail(str(error))
    unchecked = [Unchecked(e.path, e.message) for e in discovery.errors]
    nothing_found = not discovery.files and not discovery.errors and STDIN not in request.paths
    if nothing_found and not options.quiet:
        click.echo("warning: no Python files found", err=True)
    cache = None
    if request.cache and not mode.writes:
        cache = ResultCache.open(cache_directory(request.cache_dir, project_root))
    outcomes = check_paths(discovery.files, configs, mode, request.jobs, cache)
    stdin_outcome = None
    if STDIN in request.paths:
        stdin_outcome = check_stdin(_read_stdin(), request.stdin_filename, stdin_config, mode, request.force_exclude)
        outcomes.append(stdin_outcome)
    unchecked.extend(o.unchecked for o in outcomes if o.unchecked is not None)
    errors = [render_error(e.path, e.message) for e in discovery.errors] + [o.error for o in outcomes if o.error]
    for line in errors:
        click.echo(line, err=True)

    fixed_bytes = stdin_outcome.fixed_bytes if stdin_outcome is not None and mode.fix and not mode.diff else None
    if fixed_bytes is not None:
        sys.stdout.flush()
        sys.stdout.buffer.write(fixed_bytes)
        sys.stdout.buffer.flush()

    fixed = [f for o in outcomes for f in o.fixed]
    if mode.diff:
        patch = "".join(o.diff for o in outcomes)
        emit_report(patch, options.output, color=False)
        if not options.quiet:
            click.echo(f"Would fix {_count(len(fixed))}.", err=True)
        return 2 if errors else 1 if patch and not request.exit_zero else 0
    if mode.add_noqa:
        added = sum(o.noqa_added for o in outcomes)
        if not options.quiet:
            click.echo(f"Added {added} noqa {'directive' if added == 1 else 'directives'}.", err=True)
        return 2 if errors else 0

    findings = [f for o in outcomes for f in o.findings]
    report = _report(findings, fixed, outcomes, mode, options, len(errors), unchecked, nothing_found)
    # With the fixed source on stdout the report goes to stderr, as ruff does.
    emit_report(report, options.output, color=options.color, err=fixed_bytes is not None)
    if errors:
        return 2
    if fixed and request.exit_non_zero_on_fix:
        return 1
    return 1 if findings and not request.exit_zero else 0


def _read_stdin() -> bytes:
    if sys.stdin is None:
        fail("cannot read '-': stdin is closed")
    try:
        return sys.stdin.buffer.read()
    except (OSError, ValueError) as error:
        fail(f"cannot read '-': {getattr(error, 'strerror', None) or error}")


def _report(
    findings: list[Finding],
    fixed: list[Finding],
    outcomes: list[Outcome],
    mode: Mode,
    options: ReportOptions,
    errors: int,
    unchecked: list[Unchecked],
    nothing_found: bool,
) -> str:
    if options.statistics:
        return render_statistics(findings, options.fmt, unsafe_fixes=mode.unsafe_fixes)
    sources = {o.path: o.source for o in outcomes if o.source is not None}
    report = render(
        findings,
        options.fmt,
        color=options.color,
        sources=sources,
        unsafe_fixes=mode.unsafe_fixes,
        show_fixes=options.show_fixes and not mode.fix,
        summary=not options.quiet,
        fixed=len(fixed) if mode.fix else None,
        unchecked=unchecked,
    )
    if options.fmt == "text" and not options.quiet:
        if mode.fix and options.show_fixes and fixed:
            report = _fixed_listing(fixed) + report
        if errors:
            report += f"{errors} {'path' if errors == 1 else 'paths'} could not be checked.\n"
        elif not findings and not fixed and not nothing_found:
            report += "All checks passed!\n"
    return report


def _fixed_listing(fixed: Sequence[Finding]) -> str:
    lines = [f"Fixed {_count(len(fixed))}:"]
    by_path: dict[str, list[Finding]] = {}
    for finding in fixed:
        by_path.setdefault(finding.path, []).append(finding)
    for path, items in by_path.items():
        lines.append(f"- {path}:")
        counts: dict[tuple[str, str], int] = {}
        for finding in items:
            counts[(finding.code, finding.name)] = counts.get((finding.code, finding.name), 0) + 1
        lines.extend(f"    {n} x {code} ({name})" for (code, name), n in sorted(counts.items()))
    return "".join(line + "\n" for line in lines)


def _count(n: int) -> str:
    return f"{n} problem" + ("" if n == 1 else "s")
