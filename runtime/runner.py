"""``autograd-lint run``: an unmodified script (or ``-m`` module), run as ``__main__`` under ``watch``.

The processes it starts are watched too (see ``_launch``), and under torchrun the ranks report
together (see ``_torchrun``).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import runpy
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from autograd_lint.finding import Finding

from . import _gather, _launch, _torchrun
from .monitor import watch


class NoSuchModule(Exception):
    """``-m`` of a module that cannot be run; the message is one line for the user."""


@dataclass(frozen=True)
class ScriptRun:
    findings: list[Finding]
    exit_status: int  # what ``python script.py`` would have exited with
    script_failed: bool  # an uncaught exception or a non-zero SystemExit
    reports: bool = True  # False on a torchrun rank whose findings local rank 0 reports


def run_script(
    target: str,
    args: Sequence[str],
    *,
    module: bool = False,
    on_os_exit: Callable[[ScriptRun], int] | None = None,
) -> ScriptRun:
    """Runs ``target`` as ``python target args...`` (``python -m target`` with ``module``) would.

    The script gets its own argv and sys.path[0]. When it ends with ``os._exit(status)``,
    ``on_os_exit`` gets the run (and reports it) and returns the status the process exits with.
    """
    saved_argv, saved_path = sys.argv, list(sys.path)
    sys.argv = [target, *args]
    # In place of ours, as python would: the script's folder, or for -m the current directory.
    first = os.getcwd() if module else os.path.dirname(os.path.abspath(target))
    sys.path[:1] = [first]
    # A spawned child runs the script by its absolute path; its findings name it as the user did.
    spelled = {} if module else {os.path.abspath(target): target}
    try:
        if module:
            _check_runnable(target)
        with _launch.watching_children() as run_dir:
            with watch(on_finding="collect") as monitor:

                def report_now(status: int) -> int:
                    monitor.__exit__(None, None, None)  # os._exit: the with statement will never end
                    result = _collect(monitor.findings, run_dir, status, spelled)
                    return on_os_exit(result) if on_os_exit else status

                _launch.report_through(monitor, run_dir, report_now)
                try:
                    status = _run_as_main(target, module)
                finally:
                    _launch.end_report()
            return _collect(monitor.findings, run_dir, status, spelled)
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path


def _collect(own: Sequence[Finding], run_dir: str, status: int, spelled: dict[str, str]) -> ScriptRun:
    children = [(label, [_respell(f, spelled) for f in found]) for label, found in _gather.read_findings(run_dir)]
    groups: list[_gather.Labelled] = [(_torchrun.own_label(), own), *children]
    if _torchrun.is_worker():
        every_rank = _torchrun.gather(groups)
        if every_rank is None:
            return ScriptRun([], status, status != 0, reports=False)
        groups = every_rank
    return ScriptRun(_gather.merge(groups), status, status != 0)


def _respell(finding: Finding, spelled: dict[str, str]) -> Finding:
    path = spelled.get(finding.path)
    return finding if path is None else dataclasses.replace(finding, path=path)


def _check_runnable(name: str) -> None:
    """What ``python -m`` would refuse, found without running it (parent packages get imported)."""
    try:
        spec = importlib.util.find_spec(name)
    except ModuleNotFoundError:
        spec = None
    except Exception as error:  # noqa: BLE001 - a parent package failing to import, or a bad name
        raise NoSuchModule(f"cannot import it: {type(error).__name__}: {error}") from None
    if spec is None:
        raise NoSuchModule("no such module")
    if spec.submodule_search_locations is not None:  # a package runs as its __main__
        try:
            main = importlib.util.find_spec(f"{name}.__main__")
        except ImportError:
            main = None
        if main is None:
            raise NoSuchModule("is a package without a __main__ module")


def _run_as_main(target: str, module: bool) -> int:
    """The exit status python would give; the script's traceback printed as python prints it."""
    try:
        if module:
            runpy.run_module(target, run_name="__main__", alter_sys=True)
        else:
            runpy.run_path(target, run_name="__main__")
    except SystemExit as exit:
        return _exit_status(exit.code)
    except KeyboardInterrupt as interrupt:
        _print_script_traceback(interrupt)
        return 130
    except BaseException as error:  # noqa: BLE001 - the script's own failure, reported as Python would
        _print_script_traceback(error)
        return 1
    return 0


def _exit_status(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)  # what Python does with sys.exit("message")
    return 1


def _print_script_traceback(error: BaseException) -> None:
    """The traceback Python would print: from the script's first frame, without runpy's and ours."""
    tb = error.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename in (__file__, runpy.__file__, "<frozen runpy>"):
        tb = tb.tb_next
    traceback.print_exception(type(error), error, tb or error.__traceback__, file=sys.stderr)
