"""The runtime checks' catalog: one documented record per check, found by a registry, shown by the CLI."""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner

from autograd_lint.cli import main
from autograd_lint.doc_sections import CHECK_SECTIONS
from autograd_lint.registry import rule_by_code_or_name
from autograd_lint.runtime import ALL_CHECKS, AutogradLintWarning
from autograd_lint.runtime.catalog import REGISTRY, CatalogError, Check, CheckRegistry, all_checks
from autograd_lint.runtime.tables import generated_files

DOC = "\n\n".join(f"## {section}\ntext" for section in CHECK_SECTIONS)


def test_the_registry_refuses_a_second_check_with_the_same_code_or_name() -> None:
    registry = CheckRegistry()
    registry.add(Check("AGL901", "first-check", AutogradLintWarning, doc=DOC))
    with pytest.raises(CatalogError, match="AGL901 is claimed by both"):
        registry.add(Check("AGL901", "other-check", AutogradLintWarning, doc=DOC))
    with pytest.raises(CatalogError, match="first-check is claimed by both"):
        registry.add(Check("AGL902", "first-check", AutogradLintWarning, doc=DOC))
    with pytest.raises(CatalogError, match="docs lack section"):
        registry.add(Check("AGL903", "undocumented", AutogradLintWarning, doc="## What it does\ntext"))
    assert [c.code for c in registry] == ["AGL901"]


def test_all_checks_is_the_registry_with_one_category_each() -> None:
    assert ALL_CHECKS == all_checks() == tuple(REGISTRY)
    assert len({c.category for c in ALL_CHECKS}) == len(ALL_CHECKS)
    for check in ALL_CHECKS:
        docs = check.docs()
        assert all(docs[section].strip() for section in CHECK_SECTIONS), check.code
        assert check.summary() and check.category.check is check


def test_a_code_shared_with_a_static_rule_is_marked_so_and_the_rest_are_runtime_only() -> None:
    for check in ALL_CHECKS:
        if rule_by_code_or_name(check.code) is not None:
            assert not check.runtime_only, check.code


def test_the_readme_and_the_package_docstring_tables_are_current() -> None:
    for path, text in generated_files().items():
        assert path.read_text(encoding="utf-8") == text, f"run: python -m autograd_lint.runtime.tables ({path})"


def test_rules_lists_every_runtime_check_marked_runtime() -> None:
    out = CliRunner().invoke(main, ["rules"]).output.splitlines()
    listed = {line.split()[0]: line.split()[1] for line in out if line.split()[2:3] == ["runtime"]}
    assert listed == {check.code: check.name for check in ALL_CHECKS}


def test_explain_prints_a_runtime_only_check_and_adds_the_runtime_part_to_a_shared_code() -> None:
    runtime_only = next(c for c in ALL_CHECKS if c.runtime_only)
    result = CliRunner().invoke(main, ["explain", runtime_only.code])
    assert result.exit_code == 0
    assert result.output.startswith(f"# {runtime_only.code} {runtime_only.name}\n")
    assert [line for line in result.output.splitlines() if line.startswith("## ")] == [
        f"## {s}" for s in CHECK_SECTIONS
    ]
    assert CliRunner().invoke(main, ["explain", runtime_only.name]).output == result.output
    for check in ALL_CHECKS:
        rule = rule_by_code_or_name(check.code)
        if rule is None:
            continue
        output = CliRunner().invoke(main, ["explain", check.code]).output
        static, runtime = output.split("\n## At run time\n")
        assert static.startswith(f"# {rule.code} {rule.name}\n")
        assert [line for line in runtime.splitlines() if line.startswith("### ")] == [
            f"### {s}" for s in CHECK_SECTIONS
        ]


@pytest.mark.slow
def test_rules_and_explain_never_import_torch() -> None:
    code = (
        "import sys\nfrom autograd_lint.cli import main\n"
        "for args in (['rules'], ['explain', 'AGL101'], ['explain', 'AGL001']):\n"
        "    try:\n        main(args)\n    except SystemExit:\n        pass\n"
        "print('torch' in sys.modules, file=sys.stderr)\n"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert completed.stderr.strip().splitlines()[-1] == "False"
