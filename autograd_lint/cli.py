"""The ``autograd-lint`` commands: options in, a config and a file list built, the pipeline called, reports out.

Exit codes are a contract (see ``EXIT_CODES``); everything that goes wrong with one file
is one line on stderr, and the other files are still checked.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import click

from . import __version__
from .config import ConfigError, Overrides, resolve_config, split_selectors
from .doc_sections import CHECK_SECTIONS, RULE_SECTIONS
from .files import discover
from .finding import Finding
from .formatters import FORMATS, render, render_error, render_statistics
from .pipeline import PARALLEL_THRESHOLD, Mode, Outcome, check_paths, check_stdin
from .registry import all_rules, rule_by_code_or_name
from .reporting import emit_report
from .runtime_cli import demo, run

EXIT_CODES = """\b
Exit codes:
  0  no problems found (after --fix: none remain; with --diff: nothing to fix)
  1  problems found (after --fix: some remain; with --diff: something to fix)
  2  something could not be checked: a syntax error, an unreadable file,
     a bad option or a bad [tool.autograd-lint] config; the other files
     are still checked and reported"""

STDIN = "-"


class DefaultGroup(click.Group):
    """A group whose first argument, when it names no subcommand, goes to ``check``."""

    default_command = "check"

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        own_options = {*ctx.help_option_names, "--version"}
        if args and args[0] not in self.commands and args[0] not in own_options:
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)


CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(cls=DefaultGroup, context_settings=CONTEXT, epilog=EXIT_CODES)
@click.version_option(__version__, prog_name="autograd-lint")
def main() -> None:
    """Finds the PyTorch autograd mistakes that raise no error.

    `autograd-lint PATH...` is short for `autograd-lint check PATH...`.
    """


# --- check ---------------------------------------------------------------------------------


def _codes_option(flag: str, help: str):
    return click.option(
        flag, metavar="CODES", multiple=True, help=help + " Comma separated; codes, prefixes (AGL00) or names."
    )


@main.command(context_settings=CONTEXT, epilog=EXIT_CODES)
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--fix", is_flag=True, help="Apply the safe fixes and write the files.")
@click.option(
    "--unsafe-fixes",
    is_flag=True,
    help="With --fix or --diff, apply the unsafe fixes too (they change what the code computes, on purpose).",
)
@click.option("--diff", is_flag=True, help="Print the fixes as a unified diff and write nothing.")
@click.option("--show-fixes", is_flag=True, help="Say what each fix does (with --fix: list what was fixed).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True, help="Report format.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="Write the report to this file.")
@click.option("--statistics", is_flag=True, help="Count the problems per rule instead of listing them.")
@_codes_option("--select", "Run only these rules (replaces the config's select and ignore).")
@_codes_option("--ignore", "Skip these rules.")
@_codes_option("--extend-select", "Run these rules as well.")
@click.option(
    "--exclude", metavar="PATTERNS", multiple=True, help="Replace the excluded file patterns (comma separated)."
)
@click.option("--extend-exclude", metavar="PATTERNS", multiple=True, help="Exclude these file patterns as well.")
@click.option(
    "--force-exclude", is_flag=True, help="Apply the excludes and .gitignore to paths named on the command line too."
)
@click.option("--stdin-filename", metavar="PATH", help="The name to report and match config against for '-' (stdin).")
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help=f"Worker processes; 0 picks one per CPU, serially below {PARALLEL_THRESHOLD} files.",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False),
    help="Read settings from this TOML file instead of the nearest pyproject.toml.",
)
@click.option(
    "--no-color", is_flag=True, help="No colour (colour is used only on a terminal, and never with NO_COLOR set)."
)
@click.option("-q", "--quiet", is_flag=True, help="Print the problems and nothing else.")
def check(paths: tuple[str, ...], **options: Any) -> None:
    """Check PATHs (files and folders; '-' reads stdin; default '.')."""
    paths = paths or (".",)
    mode = Mode(fix=options["fix"], unsafe_fixes=options["unsafe_fixes"], diff=options["diff"])
    overrides = Overrides(
        config_file=options["config_file"],
        **{
            key: split_selectors(options[key])
            for key in ("select", "ignore", "extend_select", "exclude", "extend_exclude")
        },
    )
    stdin_filename, force_exclude = options["stdin_filename"], options["force_exclude"]
    try:
        config = resolve_config(
            overrides, [p for p in paths if p != STDIN] + ([stdin_filename] if stdin_filename else [])
        )
    except ConfigError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(2)
    report_options = ReportOptions(
        fmt=options["fmt"],
        output=options["output"],
        statistics=options["statistics"],
        show_fixes=options["show_fixes"],
        quiet=options["quiet"],
        color=_use_color(options["no_color"], options["output"]),
    )

    discovery = discover([p for p in paths if p != STDIN], config, force_exclude=force_exclude)
    errors = [render_error(e.path, e.message) for e in discovery.errors]
    if not discovery.files and not discovery.errors and STDIN not in paths and not report_options.quiet:
        click.echo("warning: no Python files found", err=True)
    outcomes = check_paths(discovery.files, config, mode, options["jobs"])
    stdin_outcome = None
    if STDIN in paths:
        stdin_outcome = check_stdin(sys.stdin.buffer.read(), stdin_filename, config, mode, force_exclude)
        outcomes.append(stdin_outcome)
    errors.extend(o.error for o in outcomes if o.error)
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
        emit_report(patch, report_options.output, color=False)
        if not report_options.quiet:
            click.echo(f"Would fix {_count(len(fixed))}.", err=True)
        sys.exit(2 if errors else 1 if patch else 0)

    findings = [f for o in outcomes for f in o.findings]
    report = _report(findings, fixed, outcomes, mode, report_options, len(errors))
    # With the fixed source on stdout the report goes to stderr, as ruff does.
    emit_report(report, report_options.output, color=report_options.color, err=fixed_bytes is not None)
    sys.exit(2 if errors else 1 if findings else 0)


@dataclass(frozen=True)
class ReportOptions:
    fmt: str = "text"
    output: str | None = None
    statistics: bool = False
    show_fixes: bool = False
    quiet: bool = False
    color: bool = False


def _report(
    findings: list[Finding],
    fixed: list[Finding],
    outcomes: list[Outcome],
    mode: Mode,
    options: ReportOptions,
    errors: int,
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
    )
    if options.fmt == "text" and not options.quiet:
        if mode.fix and options.show_fixes and fixed:
            report = _fixed_listing(fixed) + report
        if errors:
            report += f"{errors} {'path' if errors == 1 else 'paths'} could not be checked.\n"
        elif not findings and not fixed:
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


def _use_color(no_color: bool, output: str | None) -> bool:
    if no_color or output or os.environ.get("NO_COLOR"):
        return False
    return sys.stdout.isatty()


# --- rules and explain ----------------------------------------------------------------------------


@main.command(context_settings=CONTEXT)
@click.option("--format", "fmt", type=click.Choice(("text", "json")), default="text", show_default=True)
def rules(fmt: str) -> None:
    """List the rules: code, name, whether --fix can repair it, and what it flags; then the runtime checks."""
    from autograd_lint.runtime.catalog import all_checks  # torch-free

    catalog = all_rules()
    runtime_checks = all_checks()
    if fmt == "json":
        import json

        rows: list[dict[str, object]] = [
            {"code": r.code, "name": r.name, "fix": r.fix_label() or None, "summary": r.summary()} for r in catalog
        ]
        rows += [
            {"code": c.code, "name": c.name, "fix": None, "summary": c.summary(), "runtime": True}
            for c in runtime_checks
        ]
        click.echo(json.dumps(rows, indent=2))
        return
    width = max((len(r.name) for r in [*catalog, *runtime_checks]), default=0)
    for rule in catalog:
        fixable = f"{rule.fix_label()} fix" if rule.fix_safety else "no fix"
        click.echo(f"{rule.code}  {rule.name:<{width}}  {fixable:<10}  {rule.summary()}")
    for check in runtime_checks:
        click.echo(f"{check.code}  {check.name:<{width}}  {'runtime':<10}  {check.summary()}")


@main.command(context_settings=CONTEXT)
@click.argument("rule")
def explain(rule: str) -> None:
    """Print the documentation of RULE (a code like AGL003 or a name like deprecated-variable), or of a runtime check."""
    from autograd_lint.runtime.catalog import REGISTRY, all_checks  # torch-free

    all_checks()
    found = rule_by_code_or_name(rule)
    runtime_check = REGISTRY.find(rule)
    if found is None and runtime_check is not None:
        found = rule_by_code_or_name(runtime_check.code)
    if found is None and runtime_check is None:
        click.echo(render_error("autograd-lint", f"unknown rule {rule!r} (see 'autograd-lint rules')"), err=True)
        sys.exit(2)
    out: list[str] = []
    if found is not None:
        docs = found.docs()
        fix = {
            "safe": "safe (autograd-lint --fix)",
            "unsafe": "unsafe (autograd-lint --fix --unsafe-fixes)",
            "safe/unsafe": "safe or unsafe by shape (see Fix safety)",
        }.get(found.fix_label(), "none")
        out = [f"# {found.code} {found.name}", "", f"Fix: {fix}", ""]
        ordered = [s for s in RULE_SECTIONS if s in docs] + [s for s in docs if s not in RULE_SECTIONS]
        for section in ordered:
            out.extend([f"## {section}", docs[section].strip("\n"), ""])
    if runtime_check is not None:
        runtime_docs = runtime_check.docs()
        if found is None:
            out = [
                f"# {runtime_check.code} {runtime_check.name}",
                "",
                "Runtime check (autograd_lint.runtime.watch, autograd-lint run)",
                "",
            ]
            level = "##"
        else:
            out += ["## At run time", f"`autograd_lint.runtime.watch` reports it as `{runtime_check.name}`.", ""]
            level = "###"
        for section in CHECK_SECTIONS:
            out.extend([f"{level} {section}", runtime_docs[section].strip("\n"), ""])
    click.echo("\n".join(out).rstrip("\n"))


@main.command(context_settings=CONTEXT)
def server() -> None:
    """Run the language server on stdin/stdout, for editors (needs: pip install 'autograd-lint[server]')."""
    try:
        from .server import start  # pygls is imported only here
    except ImportError as error:
        click.echo(f"error: the server needs pygls: pip install 'autograd-lint[server]' ({error})", err=True)
        sys.exit(2)
    start()


# The runtime monitor's commands; they import torch only when run.
main.add_command(run)
main.add_command(demo)
