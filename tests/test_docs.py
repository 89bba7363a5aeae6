from pathlib import Path

from autograd_lint.docs import with_table
from autograd_lint.registry import all_rules
from autograd_lint.rule import DOC_SECTIONS

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_rule_table_is_current():
    text = README.read_text(encoding="utf-8")
    assert with_table(text) == text, "run: python -m autograd_lint.docs"


def test_every_rule_documents_every_section_with_text():
    for rule in all_rules():
        docs = rule.docs()
        assert all(docs[section].strip() for section in DOC_SECTIONS), rule.code


def test_rule_pages_and_the_catalog_are_current():
    from autograd_lint.docs import stale

    assert stale() == [], "run: python -m autograd_lint.docs"


def test_the_catalog_answers_as_the_rule_classes_do():
    from autograd_lint.catalog import rule_infos, rule_page

    assert [(i.code, i.name, i.fix_safety, i.triggers, i.default_off) for i in rule_infos()] == [
        (r.code, r.name, r.fix_safety, r.triggers, r.default_off) for r in all_rules()
    ]
    for info, rule in zip(rule_infos(), all_rules(), strict=True):
        assert (info.summary(), info.fix_label(), rule_page(info)) == (
            rule.summary(),
            rule.fix_label(),
            rule_page(rule),
        )


def test_each_rule_page_is_what_explain_prints():
    from conftest import cli

    page = (README.parent / "docs" / "rules" / "AGL002.md").read_text(encoding="utf-8")
    assert cli("explain", "AGL002").stdout == page
    assert page.startswith("# AGL002 missing-zero-grad\n")
