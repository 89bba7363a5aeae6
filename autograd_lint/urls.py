"""Where each rule's documentation lives online: one base for SARIF, JSON and the editor server."""

RULE_DOCS_URL = "https://github.com/autograd-lint/autograd-lint/blob/main/docs/rules/{code}.md"


def rule_url(code: str) -> str:
    return RULE_DOCS_URL.format(code=code)
