"""Watching the processes a script starts, so ``autograd-lint run`` reports for all of them.

The run makes a folder and names it in ``AUTOGRAD_LINT_RUN_DIR``; a copy of ``_sitecustomize.py``
in it goes first on ``PYTHONPATH``. Every Python child (``mp.spawn``, ``multiprocessing``'s spawn
and forkserver, ``torchrun``'s workers) thereby starts ``watch(on_finding="collect")`` when it
imports torch, and writes its findings to the folder when it exits. A forked child already holds
the parent's watch: it writes only what it found after the fork. Both also write on ``os._exit``,
which skips ``atexit``: the run wraps it while the script runs.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import _gather

RUN_DIR = "AUTOGRAD_LINT_RUN_DIR"
HOOK = Path(__file__).with_name("_sitecustomize.py")
_REAL_OS_EXIT = os._exit


@dataclass
class _Session:
    """What this process watches and where its findings go."""

    monitor: Any  # a watch; typed loosely so this module imports no torch
    run_dir: str
    pid: int
    owns_watch: bool  # False in a forked child: the watch is the parent's copy
    first_finding: int = 0  # in a forked child, the parent's findings come before this
    on_os_exit: Callable[[int], int] | None = None  # the reporting process: reports, returns the status


_session: _Session | None = None
_hooks_installed = False


@contextmanager
def watching_children() -> Iterator[str]:
    """The run's folder, named to the children through the environment while the script runs."""
    run_dir = tempfile.mkdtemp(prefix="autograd-lint-run-")
    hook_dir = os.path.join(run_dir, "hook")
    os.mkdir(hook_dir)
    shutil.copyfile(HOOK, os.path.join(hook_dir, "sitecustomize.py"))
    saved = {name: os.environ.get(name) for name in (RUN_DIR, "PYTHONPATH")}
    os.environ[RUN_DIR] = run_dir
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (hook_dir, saved["PYTHONPATH"]) if p)
    try:
        yield run_dir
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        shutil.rmtree(run_dir, ignore_errors=True)


def report_through(monitor: Any, run_dir: str, on_os_exit: Callable[[int], int]) -> None:
    """This process reports: its children write to ``run_dir``; ``os._exit`` reports first."""
    _begin(_Session(monitor, run_dir, os.getpid(), owns_watch=True, on_os_exit=on_os_exit))


def end_report() -> None:
    global _session
    _session = None
    os._exit = _REAL_OS_EXIT


def watch_this_child() -> None:
    """Called by the hook in a child when it has imported torch: watch until the process exits."""
    run_dir = os.environ.get(RUN_DIR)
    # A nested ``autograd-lint run`` (say, torchrun started under one) watches itself.
    if not run_dir or _session is not None or "autograd_lint.runtime_cli" in sys.modules:
        return
    from .monitor import watch

    monitor = watch(on_finding="collect")
    monitor.__enter__()
    _begin(_Session(monitor, run_dir, os.getpid(), owns_watch=True))
    _remember_rank_at_each_step()


def _begin(session: _Session) -> None:
    global _session, _hooks_installed
    _session = session
    if not _hooks_installed:
        _hooks_installed = True
        os.register_at_fork(after_in_child=_after_fork)
        atexit.register(_write_child_findings)
    os._exit = _exit  # type: ignore[assignment]  # stays for the process: forked children end through it


def _after_fork() -> None:
    if _session is not None:
        _session.pid = os.getpid()
        _session.owns_watch = False
        _session.first_finding = len(_session.monitor.findings)
        _session.on_os_exit = None  # the parent reports; this child only writes


def _exit(status: int) -> None:
    session = _session
    if session is not None and session.pid == os.getpid():
        if session.on_os_exit is not None:
            try:
                status = session.on_os_exit(status)
            except SystemExit as exit:  # the report could not be written: exit 2, as without os._exit
                status = exit.code if isinstance(exit.code, int) else 2
            shutil.rmtree(session.run_dir, ignore_errors=True)  # the run's own cleanup will never come
        else:
            _write_child_findings()
    _REAL_OS_EXIT(status)


def _write_child_findings() -> None:
    session = _session
    if session is None or session.pid != os.getpid() or session.on_os_exit is not None:
        return
    if session.owns_watch:
        session.owns_watch = False  # once: os._exit from an atexit handler would come here again
        session.monitor.__exit__(None, None, None)  # the end-of-watch checks run too
    findings = session.monitor.findings[session.first_finding :]
    if not findings:
        return  # DataLoader workers and the like: no file for nothing
    try:
        _gather.write_findings(session.run_dir, [(process_label(), findings)])
    except OSError:
        pass  # the run is over and its folder gone: nobody is left to report to


# -- naming the process ------------------------------------------------------------------------

_remembered_rank: int | None = None


def process_label() -> str:
    """``rank N`` for a distributed worker, else multiprocessing's name for the process."""
    rank = _current_rank()
    if rank is None and os.environ.get("RANK", "").isdigit():
        rank = int(os.environ["RANK"])
    if rank is not None:
        return f"rank {rank}"
    name = multiprocessing.current_process().name
    return name if name != "MainProcess" else f"process {os.getpid()}"


def _current_rank() -> int | None:
    distributed = sys.modules.get("torch.distributed")
    try:
        if distributed is not None and distributed.is_available() and distributed.is_initialized():
            return int(distributed.get_rank())
    except (RuntimeError, ValueError):
        pass
    return _remembered_rank


def _remember_rank_at_each_step() -> None:
    """Scripts destroy their process group before exiting; the rank is read while training."""
    from torch.optim.optimizer import register_optimizer_step_post_hook

    def remember(*_: object) -> None:
        global _remembered_rank
        _remembered_rank = _current_rank()

    register_optimizer_step_post_hook(remember)
