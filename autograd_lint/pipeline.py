"""One file through the checker: read, check, fix, diff, write; and many files, in a process pool.

The CLI, the notebook support and the editor server all go through here, so a file is checked
and fixed the same way wherever it comes from. Nothing here prints; errors come back rendered
on the outcome, one line each.

libcst (and the rules) are imported only for a file that passes the text pre-check, so a run
over files that cannot have findings, or over cached results, never pays for them.
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
from typing import TYPE_CHECKING

from .cache import CachedResult, ResultCache
from .catalog import could_have_findings, rule_infos
from .config import Config
from .files import Excluder
from .finding import Finding
from .formatters import SourceText, Unchecked, render_error
from .notebook import NotebookError, is_notebook_path, looks_like_notebook, read_notebook
from .sources import SourceFile, SourceReadError, SourceWriteError, decode, read_source, write_fixed
from .syntax_errors import SourceError, python_syntax_error

if TYPE_CHECKING:
    from .notebook_check import CellError

# Below this many files a process pool costs more to start than it saves; pre-commit
# passes a few files at a time.
PARALLEL_THRESHOLD = 8
# Named on the command line, these are read as Python whatever they hold.
PYTHON_SUFFIXES = (".py", ".pyi", ".pyw")


@dataclass(frozen=True)
class Mode:
    fix: bool = False
    unsafe_fixes: bool = False
    diff: bool = False
    add_noqa: bool = False

    @property
    def fixing(self) -> bool:
        return self.fix or self.diff

    @property
    def writes(self) -> bool:
        """Does this mode decide what to write? Then it never trusts the cache."""
        return self.fixing or self.add_noqa


@dataclass
class Outcome:
    """What became of one file."""

    path: str
    findings: list[Finding] = field(default_factory=list)
    fixed: list[Finding] = field(default_factory=list)
    source: SourceText | None = None  # a notebook's: its cell sources by number
    fixed_bytes: bytes | None = None  # for stdin: what goes to stdout
    diff: str = ""
    error: str | None = None  # already rendered
    unchecked: Unchecked | None = None  # the same error, in parts (for SARIF's notifications)
    noqa_added: int = 0

    def fail(self, message: str, line: int | None = None, column: int | None = None) -> Outcome:
        self.unchecked = Unchecked(self.path, message, line, column)
        self.error = render_error(self.path, message, line, column)
        return self


def enabled_codes(config: Config, path: str) -> tuple[str, ...]:
    return tuple(info.code for info in rule_infos() if config.enabled(info.code, info.name, path))


def check_path(path: str, config: Config, mode: Mode, cache: ResultCache | None = None) -> Outcome:
    """Read, check and (in fix mode) fix one file. Never raises for the file's sake."""
    try:
        # A notebook's outputs may be large; its code is held to the limit when it is parsed.
        source = read_source(path, max_size=None if is_notebook_path(path) else config.max_file_size)
    except SourceReadError as error:
        return Outcome(path).fail(str(error))
    write = (mode.fix or mode.add_noqa) and not mode.diff
    if is_notebook_path(path) or (
        not path.lower().endswith(PYTHON_SUFFIXES) and looks_like_notebook(source.text) is not None
    ):
        # A notebook, or a named file that holds JSON: a notebook under another name, or nothing to check.
        if is_notebook_path(path) or looks_like_notebook(source.text):
            return check_notebook_data(path, source.encode(source.text), config, mode, write=write, source=source)
        return Outcome(path).fail("neither Python nor a notebook (it holds JSON)")
    if cache is None or mode.writes:
        return check_source_file(source, config, mode, write=(mode.fix or mode.add_noqa) and not mode.diff)
    key = cache.key(source.encode(source.text), enabled_codes(config, path))  # the bytes read, exactly
    hit = cache.get(key, path)
    if hit is not None:
        outcome = Outcome(path, findings=list(hit.findings), source=source.text)
        return outcome.fail(*hit.error) if hit.error else outcome
    outcome = check_source_file(source, config, mode, write=False)
    if outcome.error is None:
        cache.put(key, CachedResult(tuple(outcome.findings)))
    elif outcome.unchecked is not None and outcome.unchecked.line is not None:  # a syntax error
        cache.put(
            key, CachedResult(error=(outcome.unchecked.message, outcome.unchecked.line, outcome.unchecked.column or 1))
        )
    return outcome


def check_source_file(source: SourceFile, config: Config, mode: Mode, *, write: bool) -> Outcome:
    path = source.path
    outcome = Outcome(path, source=source.text)
    try:
        if not mode.writes and not _could_have_findings(source.text, config, path):
            _raise_if_unparsable(source.text)
            return outcome
        if mode.add_noqa:
            return _add_noqa(outcome, source, config, write=write)
        if not mode.fixing:
            from .engine import check_source

            outcome.findings = check_source(source.text, path, config)
            return outcome
        from .fixer import fix_source

        result = fix_source(source.text, path, config, unsafe=mode.unsafe_fixes)
        if not result.fixed and not result.remaining and not _could_have_findings(source.text, config, path):
            _raise_if_unparsable(source.text)
    except SourceError as error:
        # Python's own wording when it agrees the file is broken: what the user would see running it.
        error = python_syntax_error(source.text) or error
        return outcome.fail(error.message, error.line, error.column)
    except Exception as error:  # a bug in a rule must not cost the other files their check
        return outcome.fail(f"internal error, please report it: {type(error).__name__}: {error}")
    outcome.findings, outcome.fixed = result.remaining, result.fixed
    if result.source == source.text:
        return outcome
    if mode.diff:
        outcome.diff = unified_diff(source.text, result.source, path)
        return outcome
    if not _store(outcome, source, result.source, write, config):
        from .engine import check_source

        outcome.findings, outcome.fixed = check_source(source.text, path, config), []
        return outcome
    outcome.source = result.source
    return outcome


def _add_noqa(outcome: Outcome, source: SourceFile, config: Config, *, write: bool) -> Outcome:
    from .add_noqa import add_noqa
    from .engine import check_source

    annotated = add_noqa(source.text, check_source(source.text, source.path, config))
    outcome.noqa_added = annotated.added
    if annotated.source != source.text and _store(outcome, source, annotated.source, write, config):
        outcome.source = annotated.source
    return outcome


def _store(outcome: Outcome, source: SourceFile, text: str, write: bool, config: Config) -> bool:
    """Write the new text (or keep its bytes for stdout); False, with the error set, if it cannot be:
    the file changed since it was read, it is read-only, a link out of the tree..."""
    try:
        data = source.encode(text)
        if write:
            write_fixed(source, data, root=config.root or Path.cwd())
        else:
            outcome.fixed_bytes = data
    except SourceWriteError as error:
        outcome.fail(str(error))
        return False
    return True


def _could_have_findings(text: str, config: Config, path: str) -> bool:
    return could_have_findings(text, [i for i in rule_infos() if config.enabled(i.code, i.name, path)])


def _raise_if_unparsable(source: str) -> None:
    """A syntax error in a file the engine skipped (by a text pre-check, it never parsed it)."""
    if python_syntax_error(source) is not None:
        from .engine import parse

        parse(source)  # report only what libcst rejects too, as the engine would


def check_paths(
    paths: Sequence[str],
    configs: Config | Sequence[Config],
    mode: Mode,
    jobs: int,
    cache: ResultCache | None = None,
) -> list[Outcome]:
    """Every file's outcome, in order (each file with its own config); in a process pool when
    there are enough files."""
    configs = [configs] * len(paths) if isinstance(configs, Config) else list(configs)
    workers = jobs or os.cpu_count() or 1
    if workers == 1 or len(paths) < PARALLEL_THRESHOLD:
        return [check_path(path, config, mode, cache) for path, config in zip(paths, configs, strict=True)]
    workers = min(workers, len(paths) // (PARALLEL_THRESHOLD // 2))
    try:
        pool = ProcessPoolExecutor(max_workers=workers, initializer=_init_worker, initargs=(os.getpid(),))
    except OSError:
        # No processes to be had here (a sandbox without semaphores, say): one is enough.
        return [check_path(path, config, mode, cache) for path, config in zip(paths, configs, strict=True)]
    outcomes: dict[int, Outcome] = {}
    try:
        futures = [
            pool.submit(check_path, path, config, mode, cache) for path, config in zip(paths, configs, strict=True)
        ]
        for index, future in enumerate(futures):
            try:
                outcomes[index] = future.result()
            except BrokenProcessPool:
                pass
    except BaseException:  # Ctrl-C: stop handing out files, and do not wait for the workers
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=False, cancel_futures=True)
    # A worker that died (a native crash in the parser, say) costs only the files it held: they
    # are checked again one process each, so the one that kills its process is reported alone.
    for index, (path, config) in enumerate(zip(paths, configs, strict=True)):
        if index not in outcomes:
            outcomes[index] = _check_alone(path, config, mode, cache)
    return [outcomes[index] for index in range(len(paths))]


def _check_alone(path: str, config: Config, mode: Mode, cache: ResultCache | None) -> Outcome:
    try:
        with ProcessPoolExecutor(max_workers=1, initializer=_init_worker, initargs=(os.getpid(),)) as pool:
            return pool.submit(check_path, path, config, mode, cache).result()
    except BrokenProcessPool:
        return Outcome(path).fail("the checker's process died on this file (a crash in the parser)")


def _init_worker(parent: int) -> None:
    """Workers leave Ctrl-C to the main process, which stops the run with one line. A worker whose
    parent is gone (``kill -9``) stops at once: it must not write files nobody asked for any more,
    nor wait forever on a pipe nobody reads."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # the parent died before the line above took effect
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


_PR_SET_PDEATHSIG = 1


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(1)


def check_stdin(data: bytes, stdin_filename: str | None, config: Config, mode: Mode, force_exclude: bool) -> Outcome:
    """Check (and in fix mode fix) what came on stdin; the fixed bytes are for stdout."""
    path = stdin_filename or "<stdin>"
    if stdin_filename and is_notebook_path(stdin_filename):
        outcome = check_notebook_data(path, data, config, mode, write=False)
        if mode.fix and outcome.fixed_bytes is None:
            outcome.fixed_bytes = data
        return outcome
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
        outcome = Outcome(path).fail(str(error))
    else:
        outcome = check_source_file(source, config, mode, write=False)
    if mode.fix and outcome.fixed_bytes is None:
        # Nothing fixed (or nothing could be): an editor piping its buffer through gets it back.
        outcome.fixed_bytes = data
    return outcome


# --- notebooks -------------------------------------------------------------------------------------


def check_notebook_data(
    path: str, data: bytes, config: Config, mode: Mode, *, write: bool, source: SourceFile | None = None
) -> Outcome:
    """Check (and fix) a notebook's code cells as one module; only changed cell sources are rewritten.

    ``source`` is the file as read: a fix is written over it as over a Python file's
    (``write_fixed``: only if unchanged since, keeping links, owner and mode)."""
    from .notebook_check import check_notebook, fix_notebook  # the engine: libcst only when needed

    try:
        notebook = read_notebook(path, data)
    except NotebookError as error:
        return Outcome(path, error=render_error(path, str(error)))
    outcome = Outcome(path, source={cell.number: cell.source for cell in notebook.cells})
    try:
        if not mode.fixing:
            outcome.findings, errors = check_notebook(notebook, config)
            outcome.error = _cell_errors(path, errors)
            return outcome
        result = fix_notebook(notebook, config, unsafe=mode.unsafe_fixes)
    except Exception as error:  # a bug in a rule must not cost the other files their check
        outcome.error = render_error(path, f"internal error, please report it: {type(error).__name__}: {error}")
        return outcome
    outcome.findings, outcome.fixed = result.remaining, result.fixed
    outcome.error = _cell_errors(path, result.errors)
    if not result.sources:
        return outcome
    if not notebook.rewritable:
        outcome.fixed = []
        outcome.findings = check_notebook(notebook, config)[0]
        note = render_error(
            path, f"cannot fix an nbformat {notebook.nbformat} notebook in place; upgrade it to nbformat 4"
        )
        outcome.error = "\n".join(filter(None, [outcome.error, note]))
        return outcome
    if mode.diff:
        outcome.diff = "".join(
            _cell_diff(notebook.cells[n - 1].source, text, f"{path}:cell {n}")
            for n, text in sorted(result.sources.items())
        )
        return outcome
    try:
        data = notebook.with_sources(result.sources).encode(notebook.encoding)
        if write:
            if source is None:
                raise SourceWriteError("was not read from a file; not fixed")
            write_fixed(source, data, root=config.root or Path.cwd())
        else:
            outcome.fixed_bytes = data
    except SourceWriteError as error:
        outcome.error = render_error(path, str(error))
        outcome.findings, outcome.fixed = check_notebook(notebook, config)[0], []
        return outcome
    outcome.source = {cell.number: result.sources.get(cell.number, cell.source) for cell in notebook.cells}
    return outcome


def _cell_diff(before: str, after: str, name: str) -> str:
    # A cell's last line has no newline as a rule: no "No newline at end of file" on every cell.
    if not before.endswith(("\n", "\r")) and not after.endswith(("\n", "\r")):
        before, after = before + "\n", after + "\n"
    return unified_diff(before, after, name)


def _cell_errors(path: str, errors: Sequence[CellError]) -> str | None:
    lines = [render_error(path, e.message, e.line, e.column, cell=e.cell) for e in errors]
    return "\n".join(lines) or None


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
