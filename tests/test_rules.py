"""Every rule's own VALID and INVALID examples, run through the real checker."""

from __future__ import annotations

import pytest

from autograd_lint import Config, check_source
from autograd_lint.registry import all_rules

RULES = all_rules()


def _cases(kind: str) -> list:
    return list(_iter_cases(kind))


def _iter_cases(kind: str):
    for rule in RULES:
        for index, example in enumerate(getattr(rule, kind)):
            yield pytest.param(rule, example, id=f"{rule.code}-{kind.lower()}-{index}")


def _only(rule) -> Config:
    return Config(select=(rule.code,))


@pytest.mark.parametrize("rule, source", _cases("VALID"))
def test_valid_example_is_silent(rule, source):
    assert check_source(source, "example.py", _only(rule)) == []


@pytest.mark.parametrize("rule, example", _cases("INVALID"))
def test_invalid_example_reports_exactly_its_lines(rule, example):
    findings = check_source(example.code, "example.py", _only(rule))
    assert [(f.code, f.line) for f in findings] == [(rule.code, line) for line in example.lines]
    assert all(f.name == rule.name for f in findings)


def test_catalog_is_the_public_contract():
    assert [(r.code, r.name) for r in RULES] == [
        ("AGL001", "stale-graph"),
        ("AGL002", "missing-zero-grad"),
        ("AGL003", "deprecated-variable"),
        ("AGL004", "data-attribute"),
        ("AGL005", "retain-graph-in-loop"),
        ("AGL006", "loss-kept-with-graph"),
        ("AGL007", "non-leaf-parameter"),
        ("AGL008", "legacy-tensor-type"),
        ("AGL009", "zero-grad-before-step"),
        ("AGL010", "leaf-rebound"),
        ("AGL011", "inplace-update-outside-no-grad"),
        ("AGL012", "volatile-flag"),
        ("AGL013", "requires-grad-typo"),
        ("AGL014", "uncalled-method"),
        ("AGL015", "discarded-tensor-result"),
        ("AGL016", "clip-outside-backward-step"),
        ("AGL017", "clip-before-unscale"),
        ("AGL018", "unregistered-parameter"),
        ("AGL019", "layer-created-in-forward"),
        ("AGL020", "optimizer-in-loop"),
        ("AGL900", "unused-noqa"),
    ]
