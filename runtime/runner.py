"""``autograd-lint run``: an unmodified script, run as ``__main__`` under ``watch``."""

from __future__ import annotations

import os
import runpy
import sys
import traceback
from collections.abc import Sequence
from dataclasses import dataclass

from autograd_lint.finding import Finding

from .monitor import watch


@dataclass(frozen=True)
class ScriptRun:
    findings: list[Finding]
    exit_status: int  # what ``python script.py`` would have exited with
    script_failed: bool  # an uncaught exception or a non-zero SystemExit


def run_script(path: str, args: Sequence[str]) -> ScriptRun:
    """Runs ``path`` as ``python path args...`` would, with its own argv and sys.path[0]."""
    saved_argv, saved_path0 = sys.argv, sys.path[0] if sys.path else None
    sys.argv = [path, *args]
    script_dir = os.path.dirname(os.path.abspath(path))
    if sys.path:
        sys.path[0] = script_dir
    else:
        sys.path.append(script_dir)
    status = 0
    try:
        with watch(on_finding="collect") as monitor:
            try:
                runpy.run_path(path, run_name="__main__")
            except SystemExit as exit:
                status = _exit_status(exit.code)
            except KeyboardInterrupt as interrupt:
                _print_script_traceback(interrupt, path)
                status = 130
            except BaseException as error:  # noqa: BLE001 - the script's own failure, reported as Python would
                _print_script_traceback(error, path)
                status = 1
    finally:
        sys.argv = saved_argv
        if saved_path0 is not None:
            sys.path[0] = saved_path0
    return ScriptRun(list(monitor.findings), status, status != 0)


def _exit_status(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)  # what Python does with sys.exit("message")
    return 1


def _print_script_traceback(error: BaseException, path: str) -> None:
    """The traceback Python would print: from the script's first frame, without runpy's and ours."""
    tb = error.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != path:
        tb = tb.tb_next
    traceback.print_exception(type(error), error, tb or error.__traceback__, file=sys.stderr)
