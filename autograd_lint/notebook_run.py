"""``autograd-lint run notebook.ipynb``: the code cells, in order, in one ``__main__`` namespace, under ``watch()``.

As Jupyter runs them: from the notebook's folder, one namespace, stopping at the first cell that
raises. Magics and shell lines go through IPython when it is installed; without it they are
skipped, each with a note. Each cell is compiled under the name ``NOTEBOOK:cell N``, so the
monitor's findings and any traceback point at the cell and its line.
"""

from __future__ import annotations

import ast
import contextlib
import inspect
import linecache
import os
import re
import sys
import traceback
import types
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace

from .finding import Finding
from .ipython_syntax import Placeholders, cell_magic, mask_cell
from .notebook import Notebook

_CELL_FILENAME = re.compile(r"^(?P<path>.*):cell (?P<cell>\d+)$")
_PLACEHOLDER_ALONE = re.compile(r"^([ \t]*)__ipython_\d+__", re.MULTILINE)
_PLACEHOLDER_VALUE = re.compile(r"__ipython_\d+__")


@dataclass
class NotebookRun:
    findings: list[Finding]
    exit_status: int  # as ``python`` would exit: 0, 1 for an exception, or the cell's sys.exit code
    script_failed: bool
    notes: list[str] = field(default_factory=list)
    namespace: dict = field(default_factory=dict)  # the notebook's globals after the run


def cell_filename(path: str, number: int) -> str:
    return f"{path}:cell {number}"


def to_notebook_finding(finding: Finding, path: str) -> Finding:
    """A monitor finding in a cell (its file is ``PATH:cell N``) at that cell of ``path``."""
    match = _CELL_FILENAME.match(finding.path)
    if match is None or match.group("path") != path:
        return finding
    return replace(finding, path=path, cell=int(match.group("cell")))


def run_notebook(notebook: Notebook, args: Sequence[str] = ()) -> NotebookRun:
    from autograd_lint.runtime import watch

    path = notebook.path
    module = types.ModuleType("__main__")
    module.__dict__.update(__file__=os.path.abspath(path), __builtins__=__builtins__)
    notes: list[str] = []
    saved = sys.argv, sys.modules.get("__main__"), list(sys.path), os.getcwd()
    sys.argv = [path, *args]
    sys.modules["__main__"] = module
    folder = os.path.dirname(os.path.abspath(path))
    sys.path.insert(0, folder)
    status = 0
    try:
        os.chdir(folder)  # Jupyter starts a notebook's kernel in its folder
        with _translator(module, notes) as translate, watch(on_finding="collect") as monitor:
            for cell in notebook.code_cells:
                status = _run_cell(cell.number, cell.source, path, module, translate)
                if status:
                    break
    finally:
        os.chdir(saved[3])
        sys.argv = saved[0]
        if saved[1] is not None:
            sys.modules["__main__"] = saved[1]
        sys.path[:] = saved[2]
    findings = [to_notebook_finding(f, path) for f in monitor.findings]
    return NotebookRun(findings, status, status != 0, notes, module.__dict__)


Translate = Callable[[int, str, str], str | None]


def _run_cell(number: int, source: str, path: str, module: types.ModuleType, translate: Translate) -> int:
    filename = cell_filename(path, number)
    code_text = translate(number, source, path)
    if code_text is None:
        return 0
    # Tracebacks and the monitor's columns read the cell's lines from here.
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    try:
        code = compile(code_text, filename, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)
        result = eval(code, module.__dict__)
        if inspect.iscoroutine(result):  # a cell with a top-level await, as IPython's autoawait runs it
            import asyncio

            asyncio.run(result)
    except SystemExit as exit:
        return _exit_status(exit.code)
    except KeyboardInterrupt as interrupt:
        _print_traceback(interrupt, filename)
        return 130
    except BaseException as error:  # noqa: BLE001 - the cell's own failure, shown as Jupyter would
        _print_traceback(error, filename)
        return 1
    return 0


@contextlib.contextmanager
def _translator(module: types.ModuleType, notes: list[str]) -> Iterator[Translate]:
    """How a cell becomes Python: IPython's own transformer, or masking with a note per skipped line."""
    try:
        from IPython.core.interactiveshell import InteractiveShell
        from traitlets.config import Config as TraitletsConfig
    except ImportError:
        yield _masking_translator(notes)
        return

    class BatchShell(InteractiveShell):
        def enable_gui(self, gui: object = None) -> None:
            """No event loop to hook in a batch run: ``%matplotlib`` only picks the backend."""

    if InteractiveShell.initialized():
        shell = InteractiveShell.instance()
    else:
        config = TraitletsConfig()
        config.HistoryManager.enabled = False  # no history database for a batch run
        shell = BatchShell.instance(config=config, user_module=module)
    # Magics such as %time run their code in the shell's namespace: make it the notebook's.
    saved = shell.user_module, shell.user_ns
    shell.user_module, shell.user_ns = module, module.__dict__
    module.__dict__["get_ipython"] = lambda: shell
    try:
        yield lambda number, source, path: shell.transform_cell(source)
    finally:
        shell.user_module, shell.user_ns = saved


def _masking_translator(notes: list[str]) -> Translate:
    placeholders = Placeholders()

    def masked(number: int, source: str, path: str) -> str | None:
        cell = mask_cell(source, placeholders)
        where = cell_filename(path, number)
        if cell is None:
            notes.append(f"{where}: note: skipped a `%%{cell_magic(source)}` cell (IPython is not installed)")
            return None
        lines = cell.text.splitlines()
        for token, mask in cell.masks.items():
            line = next(i for i, text in enumerate(lines, start=1) if token in text)
            notes.append(f"{where}:{line}: note: skipped `{mask.original.strip()}` (IPython is not installed)")
        # A skipped statement does nothing; a skipped value (``files = !ls``) is None.
        return _PLACEHOLDER_VALUE.sub("None", _PLACEHOLDER_ALONE.sub(r"\1pass", cell.text))

    return masked


def _exit_status(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def _print_traceback(error: BaseException, filename: str) -> None:
    """The traceback from the cell's first frame, without ours."""
    tb = error.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != filename:
        tb = tb.tb_next
    traceback.print_exception(type(error), error, tb or error.__traceback__, file=sys.stderr)
