"""The runtime checks' records: code, name, warning category and docs, found by a registry (no torch).

Each check is its warning category, registered with ``@runtime_check``; the class docstring holds
the same sections as a static rule's (``autograd_lint.doc_sections.CHECK_SECTIONS``), so ``autograd-lint
explain`` prints either the same way, and the tables in the package docstring and the README are
generated from here (``python -m autograd_lint.runtime.tables``).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from autograd_lint.doc_sections import CHECK_SECTIONS, parse_doc_sections, summary

CODE_PATTERN = re.compile(r"^AGL\d{3}$")
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


class CatalogError(Exception):
    """Two runtime checks share a code or name, or one is malformed: a bug in the package."""


class AutogradLintWarning(UserWarning):
    """Base of every warning the runtime monitor issues; filter on it to silence them all."""


class CheckUnavailableWarning(AutogradLintWarning):
    """A runtime check cannot run on this torch (a private API it needs is missing); issued once."""


@dataclass(frozen=True, eq=False)  # one object per check: compared and hashed by identity, cheaply
class Check:
    code: str
    name: str
    category: type[AutogradLintWarning]
    runtime_only: bool = True
    doc: str = field(default="", compare=False, repr=False)

    def docs(self) -> dict[str, str]:
        return parse_doc_sections(self.doc)

    def summary(self) -> str:
        """The first sentence of "What it does", for tables and listings."""
        return summary(self.docs())


class CheckRegistry:
    """Checks by code and by name; adding a second one with either fails loudly."""

    def __init__(self) -> None:
        self._by_code: dict[str, Check] = {}
        self._by_name: dict[str, Check] = {}

    def add(self, check: Check) -> Check:
        if not CODE_PATTERN.match(check.code) or not NAME_PATTERN.match(check.name):
            raise CatalogError(f"bad runtime check code {check.code!r} or name {check.name!r}")
        missing = [s for s in CHECK_SECTIONS if f"## {s}\n" not in check.doc + "\n"]
        if missing:
            raise CatalogError(f"{check.code}: docs lack section(s) {', '.join(missing)}")
        for table, key in ((self._by_code, check.code), (self._by_name, check.name)):
            if key in table:
                raise CatalogError(
                    f"{key} is claimed by both {table[key].category.__name__} and {check.category.__name__}"
                )
        self._by_code[check.code] = check
        self._by_name[check.name] = check
        return check

    def __iter__(self) -> Iterator[Check]:
        return iter(sorted(self._by_code.values(), key=lambda c: c.code))

    def __len__(self) -> int:
        return len(self._by_code)

    def find(self, key: str) -> Check | None:
        return self._by_code.get(key.upper()) or self._by_name.get(key)


REGISTRY = CheckRegistry()


def runtime_check(code: str, name: str, *, runtime_only: bool = True) -> Callable[[type], type]:
    def register(category: type) -> type:
        check = REGISTRY.add(Check(code, name, category, runtime_only, inspect.getdoc(category) or ""))
        category.check = check  # type: ignore[attr-defined]
        return category

    return register


def all_checks() -> tuple[Check, ...]:
    from . import _check_docs  # noqa: F401  (registers every check)

    return tuple(REGISTRY)
