"""Where a rule's documentation lives: the one place to change when the project gets a homepage."""

from __future__ import annotations

# The rule pages are generated into the repository (docs/rules/AGL002.md and so on).
RULE_DOCS_URL = "https://github.com/autograd-lint/autograd-lint/blob/main/docs/rules/{code}.md"


def rule_docs_url(code: str) -> str:
    return RULE_DOCS_URL.format(code=code)
