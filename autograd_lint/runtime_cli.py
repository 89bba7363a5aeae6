"""``autograd-lint run`` and ``autograd-lint demo``: the runtime monitor from the command line.

torch is imported only inside the commands, so ``autograd-lint check`` never pays for it.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import click

from .formatters import FORMATS, SourceText, render, render_error
from .notebook import NotebookError, is_notebook_path, read_notebook
from .reporting import emit_report

NEEDS_TORCH = "autograd-lint run needs torch: pip install 'autograd-lint[runtime]'"
NEEDS_MATPLOTLIB = "--plot needs matplotlib: pip install 'autograd-lint[plot]'"
RUN_EXIT_CODES = """\b
Exit codes:
  0  the script finished and nothing was found
  1  findings (or the script raised an exception, as python would exit)
  2  autograd-lint could not run it: no such script, torch missing, a bad option
  N  the script's own sys.exit(N), passed through"""
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


@click.command(context_settings=CONTEXT, epilog=RUN_EXIT_CODES)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True, help="Report format.")
@click.option("--output", "-o", metavar="FILE", help="Write the report to FILE instead of stderr.")
@click.argument("script")
@click.argument("script_args", nargs=-1, type=click.UNPROCESSED)
def run(fmt: str, output: str | None, script: str, script_args: Sequence[str]) -> None:
    """Run SCRIPT [ARGS]... as `python SCRIPT ARGS...` would, watching autograd, and report.

    The report goes to stderr (or --output) after the script ends; the script's own output
    and traceback come through unchanged. A notebook (.ipynb) runs its code cells in order in one
    namespace, from its folder, as Jupyter would.
    """
    _require("torch", NEEDS_TORCH)
    if not os.path.isfile(script):
        click.echo(render_error(script, "no such script"), err=True)
        sys.exit(2)
    sources: dict[str, SourceText] = {}
    if is_notebook_path(script):
        result = _run_notebook(script, script_args, sources)
    else:
        from autograd_lint.runtime.runner import run_script

        result = run_script(script, script_args)
    for path in {f.path for f in result.findings} - set(sources):
        try:
            sources[path] = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            pass  # a finding in a file that is gone: shown without its source line
    color = not output and not os.environ.get("NO_COLOR") and sys.stderr.isatty()
    report = render(result.findings, fmt, color=color, sources=sources)
    emit_report(report, output, color=color, err=True)
    if result.script_failed:
        sys.exit(result.exit_status)
    sys.exit(1 if result.findings else 0)


def _run_notebook(path: str, args: Sequence[str], sources: dict[str, SourceText]):
    from autograd_lint.notebook_run import run_notebook
    from autograd_lint.sources import SourceReadError, read_bytes

    try:
        notebook = read_notebook(path, read_bytes(path))
    except (NotebookError, SourceReadError) as error:
        click.echo(render_error(path, str(error)), err=True)
        sys.exit(2)
    sources[path] = {cell.number: cell.source for cell in notebook.cells}
    result = run_notebook(notebook, args)
    for note in result.notes:
        click.echo(note, err=True)
    return result


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
