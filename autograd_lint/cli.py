"""The ``autograd-lint`` commands: options in, a ``CheckRequest`` out to ``checking.py``.

Exit codes are a contract (see ``EXIT_CODES``); everything that goes wrong with one file
is one line on stderr, and the other files are still checked. The checker itself (and so
libcst) is imported only inside ``check``: ``--version``, ``--help``, ``rules`` and
``explain`` stay quick.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Mapping
from typing import Any

import click

from . import __version__
from .formatters import FORMATS, render_error
from .runtime_cli import demo, run

EXIT_CODES = """\b
Exit codes:
  0  no problems found (after --fix: none remain; with --diff: nothing to fix;
     with --exit-zero: whatever was found)
  1  problems found (after --fix: some remain; with --diff: something to fix;
     with --exit-non-zero-on-fix: something was fixed)
  2  something could not be checked: a syntax error, an unreadable file,
     a bad option or a bad config file; the other files are still checked
     and reported
  130  interrupted (Ctrl-C)"""

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class DefaultGroup(click.Group):
    """A group whose first argument, when it names no subcommand, goes to ``check``; a mistyped
    subcommand gets a suggestion instead of a "no such file". It also turns Ctrl-C and a report
    that cannot be written into one line each."""

    default_command = "check"

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        own_options = {*ctx.help_option_names, "--version", "-V"}
        if args and args[0] not in self.commands and args[0] not in own_options:
            _suggest_a_command(args[0], self.commands)
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            _interrupted()

    def main(self, *args: Any, **kwargs: Any) -> Any:
        try:
            try:
                return super().main(*args, **kwargs)
            finally:
                # Flushed here, so a full disk or a closed stdout is an error we can word.
                if sys.stdout is not None and not sys.stdout.closed:  # the server closes it on exit
                    sys.stdout.flush()
        except KeyboardInterrupt:
            _interrupted()
        except OSError as error:
            if error.errno == errno.EPIPE:  # `| head`: the reader has what it wanted
                _detach_stdout()
                sys.exit(1)
            _detach_stdout()
            click.echo(render_error("autograd-lint", f"cannot write the output: {error.strerror or error}"), err=True)
            sys.exit(2)


def _suggest_a_command(word: str, commands: Mapping[str, click.Command]) -> None:
    if word.startswith("-") or os.path.lexists(word) or not word.isalpha():
        return
    import difflib

    close = difflib.get_close_matches(word, list(commands), n=1, cutoff=0.7)
    if close:
        hint = f"unknown command {word!r}; did you mean `{close[0]}`? (a path, if meant, does not exist)"
        click.echo(render_error("autograd-lint", hint), err=True)
        sys.exit(2)


def _interrupted() -> None:
    click.echo("autograd-lint: interrupted", err=True)
    sys.exit(130)


def _detach_stdout() -> None:
    """Point stdout at /dev/null, so Python's own flush at exit does not fail a second time."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, AttributeError, ValueError):
        pass


@click.group(cls=DefaultGroup, context_settings=CONTEXT, epilog=EXIT_CODES)
@click.version_option(__version__, "-V", "--version", prog_name="autograd-lint")
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
@click.option(
    "--add-noqa", is_flag=True, help="Add a `# noqa: CODE` where each problem is reported (existing ones merged)."
)
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when problems are found (2 still means not checked).")
@click.option("--exit-non-zero-on-fix", is_flag=True, help="Exit 1 when --fix fixed something, even if none remain.")
@click.option(
    "--format",
    "--output-format",
    "fmt",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="Report format.",
)
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
    help="Worker processes; 0 picks one per CPU (a few files are checked in one process).",
)
@click.option(
    "--config",
    "config_options",
    metavar="FILE|KEY=VALUE",
    multiple=True,
    help="A TOML file to use instead of searching for config files, or a setting "
    "(`--config 'ignore = [\"AGL008\"]'`) applied over every file's config. Repeatable.",
)
@click.option("--isolated", is_flag=True, help="Ignore all config files.")
@click.option("--no-cache", is_flag=True, help="Check every file afresh and keep no results.")
@click.option(
    "--cache-dir",
    metavar="DIR",
    help="Keep results here (default: $AUTOGRAD_LINT_CACHE_DIR, else .autograd_lint_cache at the project root).",
)
@click.option(
    "--color",
    type=click.Choice(("auto", "always", "never")),
    default="auto",
    show_default=True,
    help="Colour: auto uses it on a terminal, unless NO_COLOR is set; FORCE_COLOR turns auto on.",
)
@click.option("--no-color", is_flag=True, help="Same as --color never.")
@click.option("-q", "--quiet", is_flag=True, help="Print the problems and nothing else.")
def check(paths: tuple[str, ...], **options: Any) -> None:
    """Check PATHs (files and folders; '-' reads stdin; default '.')."""
    from .checking import CheckRequest, ReportOptions, fail, run_check
    from .config import ConfigError, Overrides, split_selectors
    from .pipeline import Mode
    from .resolver import split_config_options

    try:
        config_file, config_settings = split_config_options(options["config_options"])
    except ConfigError as error:
        fail(str(error))
    overrides = Overrides(
        config_file=config_file,
        config_settings=config_settings,
        isolated=options["isolated"],
        **{
            key: split_selectors(options[key])
            for key in ("select", "ignore", "extend_select", "exclude", "extend_exclude")
        },
    )
    request = CheckRequest(
        paths=paths or (".",),
        mode=Mode(
            fix=options["fix"], unsafe_fixes=options["unsafe_fixes"], diff=options["diff"], add_noqa=options["add_noqa"]
        ),
        overrides=overrides,
        report=ReportOptions(
            fmt=options["fmt"],
            output=options["output"],
            statistics=options["statistics"],
            show_fixes=options["show_fixes"],
            quiet=options["quiet"],
            color=use_color("never" if options["no_color"] else options["color"], options["output"]),
        ),
        jobs=options["jobs"],
        force_exclude=options["force_exclude"],
        stdin_filename=options["stdin_filename"],
        exit_zero=options["exit_zero"],
        exit_non_zero_on_fix=options["exit_non_zero_on_fix"],
        cache=not options["no_cache"],
        cache_dir=options["cache_dir"],
    )
    sys.exit(run_check(request))


def use_color(choice: str, output: str | None) -> bool:
    """``always``/``never`` as said; ``auto``: never into a file, never with NO_COLOR, always
    with FORCE_COLOR, else on a terminal."""
    if choice != "auto":
        return choice == "always"
    if output or os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR", "0") not in ("", "0"):
        return True
    return sys.stdout is not None and sys.stdout.isatty()


# --- rules and explain ----------------------------------------------------------------------------


@main.command(context_settings=CONTEXT)
@click.option("--format", "fmt", type=click.Choice(("text", "json")), default="text", show_default=True)
def rules(fmt: str) -> None:
    """List the rules: code, name, whether --fix can repair it, and what it flags; then the runtime checks."""
    from autograd_lint.runtime.catalog import all_checks  # torch-free

    from .catalog import rule_infos

    catalog = rule_infos()
    runtime_checks = all_checks()
    if fmt == "json":
        import json

        rows: list[dict[str, object]] = [
            {
                "code": r.code,
                "name": r.name,
                "fix": r.fix_label() or None,
                "summary": r.summary(),
                "default": not r.default_off,
            }
            for r in catalog
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
        off = " (off by default)" if rule.default_off else ""
        click.echo(f"{rule.code}  {rule.name:<{width}}  {fixable:<10}  {rule.summary()}{off}")
    for check in runtime_checks:
        click.echo(f"{check.code}  {check.name:<{width}}  {'runtime':<10}  {check.summary()}")


@main.command(context_settings=CONTEXT)
@click.argument("rule")
def explain(rule: str) -> None:
    """Print the documentation of RULE (a code like AGL003 or a name like deprecated-variable), or of a runtime check."""
    from .catalog import explain_page

    page = explain_page(rule)
    if page is None:
        click.echo(render_error("autograd-lint", f"unknown rule {rule!r} (see 'autograd-lint rules')"), err=True)
        sys.exit(2)
    click.echo(page, nl=False)


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
