"""Realistic scripts: each mistake fixture yields exactly the findings listed beside it,
and each correct-pattern fixture yields none."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import FIXTURES, read_expected

from autograd_lint import check_source

MISTAKES = sorted((FIXTURES / "mistakes").glob("*.py"))
CORRECT = sorted((FIXTURES / "correct").glob("*.py"))


def found(script: Path) -> list[tuple[int, str]]:
    return sorted((f.line, f.code) for f in check_source(script.read_text(encoding="utf-8"), str(script)))


@pytest.mark.parametrize("script", MISTAKES, ids=lambda p: p.stem)
def test_mistake_fixture_reports_exactly_what_is_expected(script):
    assert found(script) == read_expected(script)


@pytest.mark.parametrize("script", CORRECT, ids=lambda p: p.stem)
def test_correct_pattern_fixture_is_silent(script):
    assert found(script) == []


def test_every_mistake_fixture_has_expectations():
    assert MISTAKES and all(p.with_suffix(".expected").is_file() for p in MISTAKES)
