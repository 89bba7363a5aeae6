"""Finds the rule classes in ``autograd_lint/rules/``: adding a rule means adding a module."""

from __future__ import annotations

import importlib
import pkgutil
import re
from functools import cache
from types import ModuleType

from . import rules as rules_package
from .rule import DOC_SECTIONS, Rule

CODE_PATTERN = re.compile(r"^AGL\d{3}$")
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


class RegistryError(Exception):
    """Two rules share a code or name, or a rule is malformed: a bug in the package."""


@cache
def all_rules() -> tuple[type[Rule], ...]:
    return discover(rules_package)


def discover(package: ModuleType) -> tuple[type[Rule], ...]:
    """The rule classes defined in the package's public modules, checked, sorted by code."""
    found: list[type[Rule]] = []
    for module_info in pkgutil.iter_modules(package.__path__):
        if module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package.__name__}.{module_info.name}")
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, Rule)
                and value is not Rule
                and value.__module__ == module.__name__
                and "code" in vars(value)
            ):
                found.append(value)
    return tuple(sorted(_validated(found), key=lambda rule: rule.code))


def _validated(found: list[type[Rule]]) -> list[type[Rule]]:
    by_code: dict[str, type[Rule]] = {}
    by_name: dict[str, type[Rule]] = {}
    for rule in found:
        if not CODE_PATTERN.match(rule.code) or not NAME_PATTERN.match(rule.name):
            raise RegistryError(f"{rule.__qualname__}: bad code {rule.code!r} or name {rule.name!r}")
        missing = [s for s in DOC_SECTIONS if s not in rule.docs()]
        if missing:
            raise RegistryError(f"{rule.code}: docs lack section(s) {', '.join(missing)}")
        if not rule.fix_safety <= {"safe", "unsafe"}:
            raise RegistryError(f"{rule.code}: fix_safety may hold only 'safe' and 'unsafe'")
        for table, key in ((by_code, rule.code), (by_name, rule.name)):
            if key in table:
                raise RegistryError(f"{key} is claimed by both {table[key].__qualname__} and {rule.__qualname__}")
            table[key] = rule
    return found


def rule_by_code_or_name(key: str) -> type[Rule] | None:
    for rule in all_rules():
        if key.upper() == rule.code or key == rule.name:
            return rule
    return None
