"""The rule catalog as data: codes, names, docs, fix kinds and pre-check words, without the rules.

``rules``, ``explain``, the report formats, selector checks and the text pre-check all need to
know about the rules, but not to run them, and importing the rules means importing libcst
(about 150 ms). So ``python -m autograd_lint.docs`` writes what they need into
``catalog.json`` beside this module, and a test checks that it matches the rules' own classes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from .doc_sections import CHECK_SECTIONS, RULE_SECTIONS, summary

CATALOG_FILE = Path(__file__).with_name("catalog.json")
DOC_SECTIONS = RULE_SECTIONS
FIX_LABELS = {
    "safe": "safe (autograd-lint --fix)",
    "unsafe": "unsafe (autograd-lint --fix --unsafe-fixes)",
    "safe/unsafe": "safe or unsafe by shape (see Fix safety)",
}


@dataclass(frozen=True)
class RuleInfo:
    """What is known about a rule without importing it; the same questions a ``Rule`` class answers."""

    code: str
    name: str
    message: str
    fix_safety: frozenset[str]
    triggers: tuple[str, ...]
    default_off: bool
    sections: tuple[tuple[str, str], ...]

    def docs(self) -> dict[str, str]:
        return dict(self.sections)

    def fix_label(self) -> str:
        return fix_label(self.fix_safety)

    def summary(self) -> str:
        return summary(self.docs())


@cache
def rule_infos() -> tuple[RuleInfo, ...]:
    """Every rule, sorted by code."""
    rows = json.loads(CATALOG_FILE.read_text(encoding="utf-8"))
    return tuple(
        RuleInfo(
            code=row["code"],
            name=row["name"],
            message=row["message"],
            fix_safety=frozenset(row["fix_safety"]),
            triggers=tuple(row["triggers"]),
            default_off=row["default_off"],
            sections=tuple((title, body) for title, body in row["docs"]),
        )
        for row in rows
    )


def info_by_code_or_name(key: str) -> RuleInfo | None:
    for info in rule_infos():
        if key.upper() == info.code or key == info.name:
            return info
    return None


@cache
def default_off_codes() -> frozenset[str]:
    return frozenset(info.code for info in rule_infos() if info.default_off)


def could_have_findings(source: str, rules: Sequence[Any]) -> bool:
    """A text pre-check: every finding needs torch imported and one of a rule's words.

    ``rules`` are ``Rule`` classes or ``RuleInfo``s; both have ``triggers``.
    """
    if "torch" not in source:
        return False
    return any(not rule.triggers or any(word in source for word in rule.triggers) for rule in rules)


# --- docs as text, shared by the rule classes, `explain` and the generated pages -----------------


def fix_label(fix_safety: frozenset[str]) -> str:
    """``safe``, ``unsafe``, ``safe/unsafe`` (it depends on the shape) or ``""`` (no fix)."""
    return "/".join(kind for kind in ("safe", "unsafe") if kind in fix_safety)


def rule_page(rule: Any) -> str:
    """The Markdown a rule's ``explain`` prints and its page in ``docs/rules/`` holds."""
    docs = rule.docs()
    out = [f"# {rule.code} {rule.name}", "", f"Fix: {FIX_LABELS.get(rule.fix_label(), 'none')}", ""]
    if rule.default_off:
        out.extend([f"Off by default: turn it on with `--extend-select {rule.code}`.", ""])
    ordered = [s for s in DOC_SECTIONS if s in docs] + [s for s in docs if s not in DOC_SECTIONS]
    for section in ordered:
        out.extend([f"## {section}", docs[section].strip("\n"), ""])
    return "\n".join(out).rstrip("\n") + "\n"


def explain_page(key: str) -> str | None:
    """What ``explain KEY`` prints, and a rule's page in ``docs/rules/``: the rule's docs, and where
    the runtime monitor reports the same mistake, its docs "At run time"; a runtime-only check's
    docs alone; ``None`` for an unknown code or name. Reads no rule module and imports no torch."""
    from autograd_lint.runtime.catalog import REGISTRY, all_checks  # torch-free

    all_checks()
    found = info_by_code_or_name(key)
    check = REGISTRY.find(key)
    if found is None and check is not None:
        found = info_by_code_or_name(check.code)
    if found is None and check is None:
        return None
    out = rule_page(found).rstrip("\n").split("\n") + [""] if found is not None else []
    if check is not None:
        docs = check.docs()
        if found is None:
            out = [
                f"# {check.code} {check.name}",
                "",
                "Runtime check (autograd_lint.runtime.watch, autograd-lint run)",
                "",
            ]
            level = "##"
        else:
            out += ["## At run time", f"`autograd_lint.runtime.watch` reports it as `{check.name}`.", ""]
            level = "###"
        for section in CHECK_SECTIONS:
            out.extend([f"{level} {section}", docs[section].strip("\n"), ""])
    return "\n".join(out).rstrip("\n") + "\n"


def catalog_rows(rules: Sequence[Any]) -> list[dict[str, Any]]:
    """The rows of ``catalog.json`` for these ``Rule`` classes."""
    return [
        {
            "code": rule.code,
            "name": rule.name,
            "message": rule.message,
            "fix_safety": sorted(rule.fix_safety),
            "triggers": list(rule.triggers),
            "default_off": rule.default_off,
            "docs": [[title, body] for title, body in rule.docs().items()],
        }
        for rule in rules
    ]


def catalog_text(rules: Sequence[Any]) -> str:
    return json.dumps(catalog_rows(rules), indent=1, ensure_ascii=False) + "\n"
