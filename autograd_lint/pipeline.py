"""One file through the checker: read, check, fix, diff, write; and many files, in a process pool.

The CLI, the notebook support and the editor server all go through here, so a file is checked
and fixed the same way wherever it comes from. Nothing here prints; errors come back rendered
on the outcome, one line each.
"""

from __future__ import annotations

import difflib
import os
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
from .formatters import SourceText, render_error
from .notebook import NotebookError, is_notebook_path, looks_like_notebook, read_notebook
from .notebook_check import CellError, check_notebook, fix_notebook
from .sources import SourceFile, SourceReadError, SourceWriteError, decode, read_bytes, read_source, write_atomic

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
    source: SourceText | None = None  # a notebook's: its cell sources by number
    fixed_bytes: bytes | None = None  # for stdin: what goes to stdout
    diff: str = ""
    error: str | None = None  # already rendered; a notebook's broken cells, one line each


# Named on the command line, these are read as Python whatever they hold.
PYTHON_SUFFIXES = (".py", ".pyi", ".pyw")


def check_path(path: str, config: Config, mode: Mode) -> Outcome:
    """Read, check and (in fix mode) fix one file. Never raises for the file's sake."""
    write = mode.fix and not mode.diff
    try:
        if is_notebook_path(path):
            return check_notebook_data(path, read_bytes(path), config, mode, write=write)
        source = read_source(path)
    except SourceReadError as error:
        return Outcome(path, error=render_error(path, str(error)))
    if not path.lower().endswith(PYTHON_SUFFIXES) and looks_like_notebook(source.text) is not None:
        # A named file that holds JSON: a notebook under another name, or not something to check.
        if looks_like_notebook(source.text):
            return check_notebook_data(path, source.text.encode(source.encoding), config, mode, write=write)
        return Outcome(path, error=render_error(path, "neither Python nor a notebook (it holds JSON)"))
    return check_source_file(source, config, mode, write=write)


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


def check_paths(paths: Sequence[str], config: Config, mode: Mode, jobs: int) -> list[Outcome]:
    """Every file's outcome, in order; in a process pool when there are enough files."""
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
        outcome = Outcome(path, error=render_error(path, str(error)))
    else:
        outcome = check_source_file(source, config, mode, write=False)
    if mode.fix and outcome.fixed_bytes is None:
        # Nothing fixed (or nothing could be): an editor piping its buffer through gets it back.
        outcome.fixed_bytes = data
    return outcome


# --- notebooks -------------------------------------------------------------------------------------


def check_notebook_data(path: str, data: bytes, config: Config, mode: Mode, *, write: bool) -> Outcome:
    """Check (and fix) a notebook's code cells as one module; only changed cell sources are rewritten."""
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
            write_atomic(path, data)
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
