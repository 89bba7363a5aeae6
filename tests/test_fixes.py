"""Every rule's fixes: the documented result, code that parses, nothing fixed twice."""

from __future__ import annotations

from pathlib import Path

import pytest

from autograd_lint import Config, check_source
from autograd_lint.engine import parse
from autograd_lint.fixer import fix_source
from autograd_lint.registry import all_rules

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SCRIPTS = sorted(FIXTURES.glob("*/*.py"))


def _fixable_examples(unsafe_only: bool = False) -> list:
    return [
        pytest.param(rule, example, id=f"{rule.code}-invalid-{index}")
        for rule in all_rules()
        for index, example in enumerate(rule.INVALID)
        if example.fixed is not None and (example.unsafe or not unsafe_only)
    ]


@pytest.mark.parametrize("rule, example", _fixable_examples())
def test_invalid_example_fixes_to_the_documented_source(rule, example):
    config = Config(select=(rule.code,))
    result = fix_source(example.code, "example.py", config, unsafe=example.unsafe)
    assert result.source == example.fixed
    assert check_source(result.source, "example.py", config) == []


@pytest.mark.parametrize("rule, example", _fixable_examples(unsafe_only=True))
def test_safe_fixes_alone_never_apply_an_unsafe_fix(rule, example):
    result = fix_source(example.code, "example.py", Config(select=(rule.code,)), unsafe=False)
    assert result.source == example.code


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: f"{p.parent.name}/{p.stem}")
@pytest.mark.parametrize("unsafe", [False, True], ids=["safe", "unsafe"])
def test_fixture_fix_parses_and_is_idempotent(script, unsafe):
    source = script.read_text(encoding="utf-8")
    before = check_source(source, str(script))
    once = fix_source(source, str(script), unsafe=unsafe)
    parse(once.source)
    again = check_source(once.source, str(script))
    # What was fixed is gone, and no fix brought a new finding.
    assert len(again) <= len(before) - len(once.fixed)
    assert not [f for f in again if f.fix is not None and (unsafe or f.fix.applicability == "safe")]
    assert fix_source(once.source, str(script), unsafe=unsafe).source == once.source
    if script.parent.name == "correct":
        assert once.source == source
