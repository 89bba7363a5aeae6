"""One file through the checker: read, check, fix, diff, write; and many files, in a process pool.

The CLI, the notebook support and the editor server all go through here, so a file is checked
and fixed the same way wherever it comes from. Nothing here prints; errors come back rendered
on the outcome, one line each.
"""

from __future__ import annotations

import ctypes
import difflib
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from .config import Config
from .engine import SourceError, check_source, could_have_findings, enabled_rules, parse
from .files import Excluder
from .finding import Finding
from .fixer import fix_source, python_syntax_error
from .formatters import render_error
from .sources import SourceFile, SourceReadError, SourceWriteError, decode, read_source, write_fixed

# Below this many files a process pool costs more to start than it saves; pre-commit
# passes a few files at a time.
PARALLEL_THRESHOLD = 8


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


def check_path(path: str, config: Config, mode: Mode) -> Outcome:
    """Read, check and (in fix mode) fix one file. Never raises for the file's sake."""
    try:
        source = read_source(path, max_size=config.max_file_size)
    except SourceReadError as error:
        return Outcome(path, error=render_error(path, str(error)))
    return check_source_file(source, config, mode, write=mode.fix and not mode.diff)


def check_source_file(source: SourceFile, config: Config, mode: Mode, *, write: bool) -> Outcome:
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
            write_fixed(source, data, root=config.root or Path.cwd())
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


def check_paths(paths: Sequence[str], config: Config, mode: Mode, jobs: int) -> list[Outcome]:
    """Every file's outcome, in order; in a process pool when there are enough files.

    A worker that dies (a native crash in the parser, say) costs only the files it held: they
    are checked again one process each, so the one that kills its process is reported alone."""
    workers = jobs or os.cpu_count() or 1
    if workers == 1 or len(paths) < PARALLEL_THRESHOLD:
        return [check_path(path, config, mode) for path in paths]
    workers = min(workers, len(paths) // (PARALLEL_THRESHOLD // 2))
    outcomes: dict[str, Outcome] = {}
    try:
        with ProcessPoolExecutor(max_workers=workers, initializer=_die_with_parent, initargs=(os.getpid(),)) as pool:
            futures = {pool.submit(check_path, path, config, mode): path for path in paths}
            for future, path in futures.items():
                try:
                    outcomes[path] = future.result()
                except BrokenProcessPool:
                    pass
    except OSError:
        # No processes to be had here (a sandbox without semaphores, say): one is enough.
        return [check_path(path, config, mode) for path in paths]
    except BrokenProcessPool:
        pass
    for path in paths:
        if path not in outcomes:
            outcomes[path] = _check_alone(path, config, mode)
    return [outcomes[path] for path in paths]


def _check_alone(path: str, config: Config, mode: Mode) -> Outcome:
    try:
        with ProcessPoolExecutor(max_workers=1, initializer=_die_with_parent, initargs=(os.getpid(),)) as pool:
            return pool.submit(check_path, path, config, mode).result()
    except BrokenProcessPool:
        return Outcome(
            path, error=render_error(path, "the checker's process died on this file (a crash in the parser)")
        )


def _die_with_parent(parent: int) -> None:
    """A worker whose parent is gone (``kill -9``) must stop at once, not write files nobody asked
    for any more, nor wait forever on a pipe nobody reads."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # the parent died before the line above took effect
        os._exit(1)
    watchdog = threading.Thread(target=_watch_parent, args=(parent,), daemon=True)
    watchdog.start()


_PR_SET_PDEATHSIG = 1


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(1)


def check_stdin(data: bytes, stdin_filename: str | None, config: Config, mode: Mode, force_exclude: bool) -> Outcome:
    """Check (and in fix mode fix) what came on stdin; the fixed bytes are for stdout."""
    path = stdin_filename or "<stdin>"
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
        outcome = check_source_file(source, config, mode, write=False)
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
