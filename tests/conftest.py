"""Helpers every test file shares: the one reader of ``.expected`` files and the one CLI runner."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from autograd_lint.cli import main

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURES = REPO_ROOT / "fixtures"


def read_expected(script: Path) -> list[tuple[int, str]]:
    """The findings a fixture expects: ``NAME.expected`` beside it, one ``LINE CODE`` per line
    (blank lines and ``#`` comments ignored), sorted."""
    pairs = []
    for raw in script.with_suffix(".expected").read_text(encoding="utf-8").splitlines():
        if raw.strip() and not raw.lstrip().startswith("#"):
            line, code = raw.split()
            pairs.append((int(line), code))
    return sorted(pairs)


def read_notebook_expected(notebook: Path) -> list[tuple[int, int | str, str]]:
    """A notebook fixture's expectations: ``NAME.expected`` beside it, one ``CELL LINE CODE`` per
    finding (the cell counted from 1 over every cell, the line from the cell's first) or ``CELL
    error`` for a cell that is not valid Python; sorted."""
    rows: list[tuple[int, int | str, str]] = []
    for raw in notebook.with_suffix(".expected").read_text(encoding="utf-8").splitlines():
        if raw.strip() and not raw.lstrip().startswith("#"):
            parts = raw.split()
            if parts[1] == "error":
                rows.append((int(parts[0]), 0, "error"))
            else:
                rows.append((int(parts[0]), int(parts[1]), parts[2]))
    return sorted(rows, key=str)


def cli(*args: str, input: str | bytes | None = None) -> Result:
    """``autograd-lint ARGS`` in this process, as click runs it; stdout and stderr kept apart."""
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


def autograd_lint_process(*args: str, timeout: float = 300, **kwargs) -> subprocess.CompletedProcess[str]:
    """``python -m autograd_lint ARGS`` in a new process (tests using it are marked slow)."""
    return subprocess.run(
        [sys.executable, "-m", "autograd_lint", *args], capture_output=True, text=True, timeout=timeout, **kwargs
    )


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh working folder, with no colour forced either way."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    return tmp_path
