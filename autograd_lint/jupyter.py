"""The IPython/Jupyter extension: ``%load_ext autograd_lint``.

Before each cell runs, the cell is checked statically against the cells that ran before it in
this session (in the order they ran); the findings that fall in the cell are printed as a short
warning block in its output, each once per session. While the cell runs, ``watch()`` is active and
what it finds is printed after the cell, at the cell's line. Nothing here ever stops a cell: a
failure of the checker itself is one line of note.

``%autograd_lint on|off|static|runtime`` switches it; ``%unload_ext autograd_lint`` removes the
hooks and the magic, and ends a watch in progress. Works wherever IPython runs cells: ipykernel
(JupyterLab, Notebook, VS Code, Colab) and the IPython terminal.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from typing import Any

from .config import Config, ConfigError, Overrides, resolve_config
from .finding import Finding
from .session import SessionChecker

MODES = ("on", "off", "static", "runtime")
MAGIC = "autograd_lint"
_ACTIVE: dict[int, NotebookLinter] = {}


class NotebookLinter:
    """The extension's state for one shell."""

    def __init__(self, shell: Any) -> None:
        self.shell = shell
        self.static = True
        self.runtime = importlib.util.find_spec("torch") is not None
        self.checker = SessionChecker(_session_config(), path="<notebook>")
        self.shown: set[tuple[str, str, str]] = set()
        self.monitor: Any = None
        # The cells that ran before the extension was loaded count as history too.
        history = getattr(getattr(shell, "history_manager", None), "input_hist_raw", [])
        for source in history[1:]:
            self.checker.add(source)

    # --- IPython's events ---------------------------------------------------------------------

    def pre_run_cell(self, info: Any) -> None:
        source = getattr(info, "raw_cell", "") or ""
        if self.static:
            self._guarded(self._show_static, source)
        self.checker.add(source)
        if self.runtime:
            self._guarded(self._start_watch)

    def post_run_cell(self, result: Any) -> None:
        if self.monitor is not None:
            self._guarded(self._stop_watch, result)

    # --- static -----------------------------------------------------------------------------

    def _show_static(self, source: str) -> None:
        lines = source.splitlines()
        fresh = []
        for finding in self.checker.check(source):
            text = lines[finding.line - 1].strip() if 0 < finding.line <= len(lines) else ""
            key = (finding.code, finding.message, text)
            if key not in self.shown:
                self.shown.add(key)
                fresh.append(finding)
        if fresh:
            _warn(_block("autograd-lint", "in this cell", [f"line {f.line}:{f.column}" for f in fresh], fresh))

    # --- runtime --------------------------------------------------------------------------------

    def _start_watch(self) -> None:
        from autograd_lint.runtime import watch

        monitor = watch(on_finding="collect")
        monitor.__enter__()
        self.monitor = monitor

    def _stop_watch(self, result: Any = None) -> None:
        monitor, self.monitor = self.monitor, None
        if monitor is None:
            return
        monitor.__exit__(None, None, None)
        if monitor.findings:
            current = getattr(result, "execution_count", None)
            places = [self._place(f, current) for f in monitor.findings]
            _warn(_block("autograd-lint", "while the cell ran", places, monitor.findings))

    def _place(self, finding: Finding, current: int | None) -> str:
        """``line N`` in this cell, ``In [K], line N`` in another cell, else ``path:line``."""
        cells = getattr(getattr(self.shell, "compile", None), "_filename_map", {})
        number = cells.get(finding.path)
        if number is None:
            return f"{finding.path}:{finding.line}"
        return f"line {finding.line}" if number == current else f"In [{number}], line {finding.line}"

    # --- switching --------------------------------------------------------------------------------

    def switch(self, mode: str) -> str:
        mode = mode.strip() or "status"
        if mode not in MODES and mode != "status":
            return f"usage: %{MAGIC} {'|'.join(MODES)}"
        if mode != "status":
            self.static = mode in ("on", "static")
            wants_runtime = mode in ("on", "runtime")
            if wants_runtime and importlib.util.find_spec("torch") is None:
                wants_runtime = False
            if not wants_runtime and self.monitor is not None:
                self._stop_watch()
            self.runtime = wants_runtime
        parts = [name for name, on in (("static", self.static), ("runtime", self.runtime)) if on]
        return f"autograd-lint: {' and '.join(parts) or 'off'}"

    def close(self) -> None:
        if self.monitor is not None:
            self._stop_watch()

    def _guarded(self, action: Any, *args: Any) -> None:
        try:
            action(*args)
        except Exception as error:  # the checker must never stop the user's cell
            _warn(f"autograd-lint: skipped ({type(error).__name__}: {error})\n")


def _block(title: str, where: str, places: list[str], findings: list[Finding]) -> str:
    count = f"{len(findings)} problem" + ("" if len(findings) == 1 else "s")
    lines = [f"{title}: {count} {where}"]
    lines += [f"  {place}: {f.code} [{f.name}] {f.message}" for place, f in zip(places, findings, strict=True)]
    return "\n".join(lines) + "\n"


def _warn(text: str) -> None:
    # stderr: Jupyter shows it in the cell's output, set apart from the cell's own results.
    sys.stderr.write(text)
    sys.stderr.flush()


def _session_config() -> Config:
    """The project's [tool.autograd-lint], from the kernel's working folder; the defaults if it is broken."""
    try:
        return resolve_config(Overrides(), [os.getcwd()])
    except ConfigError:
        return Config()


# --- loading and unloading ------------------------------------------------------------------------------


def load(shell: Any) -> None:
    if id(shell) in _ACTIVE:
        return
    linter = NotebookLinter(shell)
    _ACTIVE[id(shell)] = linter
    shell.events.register("pre_run_cell", linter.pre_run_cell)
    shell.events.register("post_run_cell", linter.post_run_cell)

    def autograd_lint(line: str) -> None:
        """%autograd_lint on|off|static|runtime: switch the checks autograd-lint runs around each cell."""
        print(linter.switch(line))

    shell.register_magic_function(autograd_lint, "line", MAGIC)


def unload(shell: Any) -> None:
    linter = _ACTIVE.pop(id(shell), None)
    if linter is None:
        return
    for event, callback in (("pre_run_cell", linter.pre_run_cell), ("post_run_cell", linter.post_run_cell)):
        try:
            shell.events.unregister(event, callback)
        except ValueError:
            pass  # already gone
    shell.magics_manager.magics["line"].pop(MAGIC, None)
    linter.close()
