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
