"""The ``autograd-lint`` command: builds a config, walks the paths, calls the core, prints.

Exit codes are a contract (see ``EXIT_CODES``); everything that goes wrong with one file
is one line on stderr, and the other files are still checked.
"""

from __future__ import annotations

import difflib
import os
import sys
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from pathlib import Path

import click

from . import __version__
from .config import Config, ConfigError, config_from_table, find_pyproject, tomllib
from .engine import SourceError, check_source, could_have_findings, enabled_rules, parse
from .files import Excluder, discover
from .finding import Finding
from .fixer import fix_source, python_syntax_error
from .formatters import FORMATS, render, render_error, render_statistics
from .registry import all_rules, rule_by_code_or_name
from .reporting import emit_report
from .rule import DOC_SECTIONS
from .runtime_cli import demo, run
from .sources import SourceFile, SourceReadError, SourceWriteError, decode, read_source, write_atomic

EXIT_CODES = """\b
Exit codes:
  0  no problems found (after --fix: none remain; with --diff: nothing to fix)
  1  problems found (after --fix: some remain; with --diff: something to fix)
  2  something could not be checked: a syntax error, an unreadable file,
     a bad option or a bad [tool.autograd-lint] config; the other files
     are still checked and reported"""

# Below this many files a process pool costs more to start than it saves; pre-commit
# passes a few files at a time.
PARALLEL_THRESHOLD = 8
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


@dataclass(frozen=True)
class Mode:
    fix: bool = False
    unsafe_fixes: bool = False
    diff: bool = False

    @property
    def fixing(self) -> bool:
        return self.fix or self.diff


@dataclass
class Outcome:
    """What became of one file."""

    path: str
    findings: list[Finding] = field(default_factory=list)
    fixed: list[Finding] = field(default_factory=list)
    source: str | None = None
    fixed_bytes: bytes | None = None  # for stdin: what goes to stdout
    diff: str = ""
    error: str | None = None  # already rendered


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
def check(
    paths: tuple[str, ...],
    fix: bool,
    unsafe_fixes: bool,
    diff: bool,
    show_fixes: bool,
    fmt: str,
    output: str | None,
    statistics: bool,
    select,
    ignore,
    extend_select,
    exclude,
    extend_exclude,
    force_exclude: bool,
    stdin_filename: str | None,
    jobs: int,
    config_file: str | None,
    no_color: bool,
    quiet: bool,
) -> None:
    """Check PATHs (files and folders; '-' reads stdin; default '.')."""
    paths = paths or (".",)
    mode = Mode(fix=fix, unsafe_fixes=unsafe_fixes, diff=diff)
    try:
        config = build_config(
            config_file, paths, stdin_filename, select, ignore, extend_select, exclude, extend_exclude
        )
    except ConfigError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(2)

    file_paths = [p for p in paths if p != STDIN]
    discovery = discover(file_paths, config, force_exclude=force_exclude)
    errors = [render_error(e.path, e.message) for e in discovery.errors]
    if not discovery.files and not discovery.errors and STDIN not in paths and not quiet:
        click.echo("warning: no Python files found", err=True)
    outcomes = list(_run(discovery.files, config, mode, jobs))
    stdin_outcome = None
    if STDIN in paths:
        stdin_outcome = _check_stdin(stdin_filename, config, mode, force_exclude)
        if stdin_outcome is not None:
            outcomes.append(stdin_outcome)
    errors.extend(o.error for o in outcomes if o.error)

    findings = [f for o in outcomes for f in o.findings]
    fixed = [f for o in outcomes for f in o.fixed]
    color = _use_color(no_color, output)

    for error in errors:
        click.echo(error, err=True)

    fixed_to_stdout = fix and not diff and stdin_outcome is not None and stdin_outcome.fixed_bytes is not None
    if fixed_to_stdout:
        sys.stdout.flush()
        sys.stdout.buffer.write(stdin_outcome.fixed_bytes)
        sys.stdout.buffer.flush()

    if diff:
        patch = "".join(o.diff for o in outcomes)
        emit_report(patch, output, color=False)
        if not quiet:
            click.echo(f"Would fix {_count(len(fixed))}.", err=True)
        sys.exit(2 if errors else 1 if patch else 0)

    report = _report(findings, fixed, outcomes, fmt, mode, statistics, show_fixes, quiet, color, len(errors))
    # With the fixed source on stdout the report goes to stderr, as ruff does.
    emit_report(report, output, color=color, err=fixed_to_stdout)
    sys.exit(2 if errors else 1 if findings else 0)


def _report(findings, fixed, outcomes, fmt, mode: Mode, statistics, show_fixes, quiet, color, error_count) -> str:
    if statistics:
        return render_statistics(findings, fmt, unsafe_fixes=mode.unsafe_fixes)
    sources = {o.path: o.source for o in outcomes if o.source is not None}
    report = render(
        findings,
        fmt,
        color=color,
        sources=sources,
        unsafe_fixes=mode.unsafe_fixes,
        show_fixes=show_fixes and not mode.fix,
        summary=not quiet,
        fixed=len(fixed) if mode.fix else None,
    )
    if fmt == "text" and not quiet:
        if mode.fix and show_fixes and fixed:
            report = _fixed_listing(fixed) + report
        if error_count:
            report += f"{error_count} {'path' if error_count == 1 else 'paths'} could not be checked.\n"
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


# --- one file ---------------------------------------------------------------------------------


def check_path(path: str, config: Config, mode: Mode) -> Outcome:
    """Read, check and (in fix mode) fix one file. Never raises for the file's sake."""
    try:
        source = read_source(path)
    except SourceReadError as error:
        return Outcome(path, error=render_error(path, str(error)))
    return _check_source_file(source, config, mode, write=mode.fix and not mode.diff)


def _check_source_file(source: SourceFile, config: Config, mode: Mode, *, write: bool) -> Outcome:
    path = source.path
    outcome = Outcome(path, source=source.text)
    try:
        if not mode.fixing:
            outcome.findings = check_source(source.text, path, config)
            if not outcome.findings:
                _raise_if_unparsable(source.text, path, config)
            return outcome
        result = fix_source(source.text, path, config, unsafe=mode.unsafe_fixes)
        if not result.fixed and not result.remaining:
            _raise_if_unparsable(source.text, path, config)
    except SourceError as error:
        # Python's own wording when it agrees the file is broken: what the user would see running it.
        error = python_syntax_error(source.text) or error
        outcome.error = render_error(path, error.message, error.line, error.column)
        return outcome
    except Exception as error:  # a bug in a rule must not cost the other files their check
        outcome.error = render_error(path, f"internal error, please report it: {type(error).__name__}: {error}")
        return outcome
    outcome.findings, outcome.fixed = result.remaining, result.fixed
    if result.source == source.text:
        return outcome
    if mode.diff:
        outcome.diff = unified_diff(source.text, result.source, path)
        return outcome
    try:
        data = source.encode(result.source)
        if write:
            write_atomic(path, data)
        else:
            outcome.fixed_bytes = data
    except SourceWriteError as error:
        outcome.error = render_error(path, str(error))
        outcome.findings, outcome.fixed = check_source(source.text, path, config), []
        return outcome
    outcome.source = result.source
    return outcome


def _raise_if_unparsable(source: str, path: str, config: Config) -> None:
    """A syntax error in a file the engine skipped (by a text pre-check, it never parsed it)."""
    if could_have_findings(source, enabled_rules(config, path)):
        return  # the engine parsed it
    if python_syntax_error(source) is not None:
        parse(source)  # report only what libcst rejects too, as the engine would


def _run(paths: Sequence[str], config: Config, mode: Mode, jobs: int) -> Iterable[Outcome]:
    workers = jobs or os.cpu_count() or 1
    if workers == 1 or len(paths) < PARALLEL_THRESHOLD:
        return [check_path(path, config, mode) for path in paths]
    workers = min(workers, len(paths) // (PARALLEL_THRESHOLD // 2))
    try:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            chunk = max(1, len(paths) // (workers * 8))
            return list(pool.map(check_path, paths, [config] * len(paths), [mode] * len(paths), chunksize=chunk))
    except (OSError, BrokenProcessPool):
        # No processes to be had here (a sandbox without semaphores, say): one is enough.
        return [check_path(path, config, mode) for path in paths]


def _check_stdin(stdin_filename: str | None, config: Config, mode: Mode, force_exclude: bool) -> Outcome | None:
    path = stdin_filename or "<stdin>"
    data = sys.stdin.buffer.read()
    if (
        stdin_filename
        and force_exclude
        and Excluder(config, config.root or Path.cwd()).excluded_with_parents(Path(path))
    ):
        # Excluded: an editor piping the buffer through --fix gets it back untouched.
        return Outcome(path, fixed_bytes=data if mode.fix else None)
    try:
        source = decode(data, path)
    except SourceReadError as error:
        outcome = Outcome(path, error=render_error(path, str(error)))
    else:
        outcome = _check_source_file(source, config, mode, write=False)
    if mode.fix and outcome.fixed_bytes is None:
        # Nothing fixed (or nothing could be): an editor piping its buffer through gets it back.
        outcome.fixed_bytes = data
    return outcome


def unified_diff(before: str, after: str, path: str) -> str:
    lines = difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True), f"a/{path}", f"b/{path}"
    )
    out = []
    for line in lines:
        out.append(line)
        if not line.endswith(("\n", "\r")):
            out.append("\n\\ No newline at end of file\n")
    return "".join(out)


# --- config ---------------------------------------------------------------------------------------


def build_config(config_file, paths, stdin_filename, select, ignore, extend_select, exclude, extend_exclude) -> Config:
    if config_file:
        config = _read_config_file(Path(config_file))
    else:
        pyproject = find_pyproject(_common_parent(paths, stdin_filename))
        config = _read_config_file(pyproject) if pyproject else Config(root=Path.cwd())
    _check_selectors(config.select + config.ignore + config.extend_select, "the config")
    for codes in config.per_file_ignores.values():
        _check_selectors(codes, "per-file-ignores")
    changes: dict = {}
    if select:
        changes.update(select=_check_selectors(_split(select), "--select"), ignore=(), extend_select=())
    if ignore:
        changes["ignore"] = changes.get("ignore", config.ignore) + _check_selectors(_split(ignore), "--ignore")
    if extend_select:
        changes["extend_select"] = changes.get("extend_select", config.extend_select) + _check_selectors(
            _split(extend_select), "--extend-select"
        )
    if exclude:
        changes["exclude"] = _split(exclude)
    if extend_exclude:
        changes["extend_exclude"] = config.extend_exclude + _split(extend_exclude)
    return replace(config, **changes)


def _read_config_file(path: Path) -> Config:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read config: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: {error}") from None
    if path.name == "pyproject.toml" or "tool" in data:
        table = data.get("tool", {}).get("autograd-lint", {})
    else:
        table = data  # a file of its own, holding just our settings
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.autograd-lint] must be a table")
    try:
        return config_from_table(table, root=path.resolve().parent, source=str(path))
    except ConfigError as error:
        message = str(error)
        raise ConfigError(message if message.startswith(str(path)) else f"{path}: {message}") from None


def _common_parent(paths: Sequence[str], stdin_filename: str | None) -> Path:
    named = [p for p in paths if p != STDIN]
    if stdin_filename:
        named.append(stdin_filename)
    absolute = [os.path.abspath(p) for p in named]
    if not absolute:
        return Path.cwd()
    try:
        common = Path(os.path.commonpath(absolute))
    except ValueError:  # paths on different drives
        return Path.cwd()
    while not common.exists() and common != common.parent:
        common = common.parent
    return common


def _split(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(part.strip() for value in values for part in value.split(",") if part.strip())


def _check_selectors(selectors: Sequence[str], where: str) -> tuple[str, ...]:
    codes = [rule.code for rule in all_rules()]
    names = {rule.name for rule in all_rules()}
    for selector in selectors:
        known = (
            selector == "ALL"
            or selector in names
            or (selector.upper().startswith("AGL") and any(code.startswith(selector.upper()) for code in codes))
        )
        if not known:
            raise ConfigError(f"{where}: unknown rule selector {selector!r} (see 'autograd-lint rules')")
    return tuple(selectors)


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

        rows = [{"code": r.code, "name": r.name, "fix": r.fix_applicability, "summary": r.summary()} for r in catalog]
        rows += [
            {"code": c.code, "name": c.name, "fix": None, "summary": c.summary(), "runtime": True}
            for c in runtime_checks
        ]
        click.echo(json.dumps(rows, indent=2))
        return
    width = max((len(r.name) for r in [*catalog, *runtime_checks]), default=0)
    for rule in catalog:
        fixable = f"{rule.fix_applicability} fix" if rule.fix_applicability else "no fix"
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
        }.get(found.fix_applicability or "", "none")
        out = [f"# {found.code} {found.name}", "", f"Fix: {fix}", ""]
        ordered = [s for s in DOC_SECTIONS if s in docs] + [s for s in docs if s not in DOC_SECTIONS]
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
        for section in DOC_SECTIONS:
            out.extend([f"{level} {section}", runtime_docs[section].strip("\n"), ""])
    click.echo("\n".join(out).rstrip("\n"))


# The runtime monitor's commands; they import torch only when run.
main.add_command(run)
main.add_command(demo)
