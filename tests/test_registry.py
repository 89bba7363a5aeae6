"""The registry finds rules by looking, and fails loudly on a rule that breaks the catalog."""

from __future__ import annotations

import importlib
import sys
import textwrap
from pathlib import Path

import pytest

from autograd_lint.registry import RegistryError, all_rules, discover

RULE = textwrap.dedent(
    '''\
    from autograd_lint.rule import Rule


    class {cls}(Rule):
        """
        ## What it does
        Flags something.

        ## Why is this bad?
        Because.

        ## Example
        `x`

        ## Use instead
        `y`

        ## Known false positives
        None.

        ## Fix safety
        No fix.
        """

        code = "{code}"
        name = "{name}"
        message = "m"
    '''
)


def make_package(root: Path, name: str, rules: dict[str, tuple[str, str, str]]):
    package = root / name
    package.mkdir()
    (package / "__init__.py").write_text("")
    for module, (cls, code, rule_name) in rules.items():
        (package / f"{module}.py").write_text(RULE.format(cls=cls, code=code, name=rule_name))
    sys.path.insert(0, str(root))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(root))


def test_rules_are_found_in_their_own_modules(tmp_path):
    package = make_package(tmp_path, "catalog_ok", {"a": ("A", "AGL901", "first-rule"), "b": ("B", "AGL902", "second")})
    assert [(r.code, r.name) for r in discover(package)] == [("AGL901", "first-rule"), ("AGL902", "second")]


@pytest.mark.parametrize(
    "second, clash",
    [(("B", "AGL901", "other-name"), "AGL901"), (("B", "AGL902", "first-rule"), "first-rule")],
    ids=["duplicate code", "duplicate name"],
)
def test_a_duplicate_code_or_name_fails_loudly(tmp_path, second, clash):
    package = make_package(
        tmp_path, f"catalog_{clash.replace('-', '_')}", {"a": ("A", "AGL901", "first-rule"), "b": second}
    )
    with pytest.raises(RegistryError, match=f"{clash} is claimed by both A and B"):
        discover(package)


def test_a_rule_without_its_fix_safety_section_is_refused(tmp_path):
    package = make_package(tmp_path, "catalog_docs", {"a": ("A", "AGL901", "first-rule")})
    (cls,) = discover(package)
    cls.__doc__ = cls.__doc__.replace("## Fix safety", "## Fix")
    with pytest.raises(RegistryError, match="AGL901: docs lack section"):
        discover(package)


def test_every_fix_an_example_makes_is_of_a_kind_its_rule_declares():
    from autograd_lint import check_source
    from autograd_lint.config import Config

    for rule in all_rules():
        offered = {
            f.fix.applicability
            for example in rule.INVALID
            for f in check_source(example.code, "x.py", Config(select=(rule.code,)))
            if f.fix is not None
        }
        assert offered <= rule.fix_safety, rule.code
        assert rule.fix_safety <= offered, f"{rule.code} declares a kind of fix no example shows"
