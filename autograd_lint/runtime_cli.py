"""``autograd-lint run`` and ``autograd-lint demo``: the runtime monitor from the command line.

torch is imported only inside the commands, so ``autograd-lint check`` never pays for it.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

from .formatters import FORMATS, SourceText, render, render_error
from .notebook import NotebookError, is_notebook_path, read_notebook
from .reporting import emit_report

if TYPE_CHECKING:
    from autograd_lint.notebook_run import NotebookRun
    from autograd_lint.runtime.runner import ScriptRun

    from .finding import Finding

NEEDS_TORCH = "autograd-lint run needs torch: pip install 'autograd-lint[runtime]'"
NEEDS_MATPLOTLIB = "--plot needs matplotlib: pip install 'autograd-lint[plot]'"
RUN_EXIT_CODES = """\b
Exit codes:
  0  the script finished and nothing was found
  1  findings (or the script raised an exception, as python would exit)
  2  autograd-lint could not run it: no such script or module, torch missing,
     a bad option, a report file that cannot be written
  N  the script's own sys.exit(N) or os._exit(N), passed through"""
CONTEXT = {
    "ignore_unknown_options": True,
    "allow_interspersed_args": False,
    "help_option_names": ["-h", "--help"],
    "max_content_width": 100,
}


def _require(module: str, message: str) -> None:
    if importlib.util.find_spec(module) is None:
        click.echo(render_error("autograd-lint", message), err=True)
        sys.exit(2)


class _RunCommand(click.Command):
    """``-m MODULE`` ends autograd-lint's options as it ends python's: what follows is the module's."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        i = 0
        while i < len(args):
            arg = args[i]
            if arg.startswith("-m") and (len(arg) > 2 or i + 1 < len(args)):
                rest = [arg[2:], *args[i + 1 :]] if len(arg) > 2 else args[i + 1 :]
                args = [*args[:i], "--module", rest[0], "--", *rest[1:]]
                break
            if arg == "--" or not arg.startswith("-"):
                break  # the script: the rest is its own
            i += 2 if arg in _OPTIONS_WITH_A_VALUE else 1
        return super().parse_args(ctx, args)


_OPTIONS_WITH_A_VALUE = ("--format", "--output", "-o")


@click.command(cls=_RunCommand, context_settings=CONTEXT, epilog=RUN_EXIT_CODES)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True, help="Report format.")
@click.option("--output", "-o", metavar="FILE", help="Write the report to FILE instead of stderr.")
@click.option(
    "-m", "--module", metavar="MODULE", help="Run library module MODULE as `python -m MODULE` would; ARGS are its own."
)
@click.argument("arguments", nargs=-1, type=click.UNPROCESSED, metavar="SCRIPT [ARGS]...")
def run(fmt: str, output: str | None, module: str | None, arguments: Sequence[str]) -> None:
    """Run SCRIPT [ARGS]... (or -m MODULE [ARGS]...) as python would, watching autograd, and report.

    The report goes to stderr (or --output) after the script ends; the script's own output
    and traceback come through unchanged. The processes it starts (multiprocessing,
    torch.multiprocessing.spawn, torchrun's workers) are watched too, and their findings
    name the rank or process that saw them. Under torchrun each rank runs its own
    `python -m autograd_lint run` and local rank 0 prints the report for all of them.
    """
    _require("torch", NEEDS_TORCH)
    if module is None and not arguments:
        raise click.UsageError("missing SCRIPT (or -m MODULE)")
    target, script_args = (module, arguments) if module is not None else (arguments[0], arguments[1:])
    if module is None and not os.path.isfile(target):
        _fail(target, "no such script")
    if output:
        problem = _cannot_write(output)
        if problem:
            _fail(output, f"cannot write the report: {problem}")
    from autograd_lint.runtime.runner import NoSuchModule, run_script

    sources: dict[str, SourceText] = {}
    if module is None and is_notebook_path(target):
        # A notebook runs its code cells in order in one namespace, from its folder, as Jupyter would.
        ran = _run_notebook(target, script_args, sources)
        _report(ran.findings, fmt, output, sources)
        sys.exit(ran.exit_status if ran.script_failed else 1 if ran.findings else 0)

    def report(result: ScriptRun) -> int:
        if result.reports:
            _report(result.findings, fmt, output, sources)
        if result.script_failed:
            return result.exit_status
        return 1 if result.reports and result.findings else 0

    try:
        result = run_script(target, script_args, module=module is not None, on_os_exit=report)
    except NoSuchModule as error:
        _fail(target, str(error))
    sys.exit(report(result))


def _fail(where: str, message: str) -> NoReturn:
    click.echo(render_error(where, message), err=True)
    sys.exit(2)


def _cannot_write(output: str) -> str | None:
    """Why the report could not be written to ``output``, found before the script runs for hours."""
    folder = os.path.dirname(os.path.abspath(output))
    if os.path.isdir(output):
        return "it is a directory"
    if not os.path.isdir(folder):
        return f"no such directory {os.path.dirname(output) or folder}"
    if not os.access(folder, os.W_OK):
        return f"permission denied in {os.path.dirname(output) or folder}"
    return None


def _run_notebook(path: str, args: Sequence[str], sources: dict[str, SourceText]) -> NotebookRun:
    from autograd_lint.notebook_run import run_notebook
    from autograd_lint.sources import SourceReadError, read_bytes

    try:
        notebook = read_notebook(path, read_bytes(path))
    except (NotebookError, SourceReadError) as error:
        _fail(path, str(error))
    sources[path] = {cell.number: cell.source for cell in notebook.cells}
    result = run_notebook(notebook, args)
    for note in result.notes:
        click.echo(note, err=True)
    return result


def _report(findings: Sequence[Finding], fmt: str, output: str | None, sources: dict[str, SourceText]) -> None:
    for path in {f.path for f in findings} - set(sources):
        try:
            sources[path] = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            pass  # a finding in a file that is gone: shown without its source line
    color = not output and not os.environ.get("NO_COLOR") and sys.stderr.isatty()
    report = render(findings, fmt, color=color, sources=sources)
    emit_report(report, output, color=color, err=True)


@click.command(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--device",
    type=click.Choice(["auto", "cuda", "cpu"]),
    default="auto",
    show_default=True,
    help="Where the corrected descent runs; auto picks CUDA when there is one.",
)
@click.option("--iterations", type=click.IntRange(1), default=1000, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--plot", "plot_path", metavar="FILE.png", help="Draw the distance against the iteration (needs matplotlib)."
)
def demo(device: str, iterations: int, seed: int, plot_path: str | None) -> None:
    """The newcomer's gradient descent, broken then fixed: what the runtime monitor finds and why it matters."""
    _require("torch", NEEDS_TORCH.replace(" run ", " demo "))
    if plot_path:
        _require("matplotlib", NEEDS_MATPLOTLIB)
    from autograd_lint.runtime import demo as demo_module

    try:
        chosen = demo_module.pick_device(device)
    except demo_module.DeviceUnavailable as error:
        click.echo(render_error("autograd-lint", str(error)), err=True)
        sys.exit(2)
    report = demo_module.run_demo(chosen, iterations=iterations, seed=seed)
    click.echo(report.text())
    if plot_path:
        try:
            demo_module.plot(report, plot_path)
        except OSError as error:
            click.echo(render_error(plot_path, f"cannot write the plot: {error.strerror or error}"), err=True)
            sys.exit(2)
        click.echo(f"plot written to {plot_path}")
