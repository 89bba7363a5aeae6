"""The README's rule table, generated from the rules' own docs.

``python -m autograd_lint.docs`` rewrites the table in README.md; a test checks it is current.
"""

from __future__ import annotations

import sys
from pathlib import Path

from .registry import all_rules

START = "<!-- rules-table:start -->"
END = "<!-- rules-table:end -->"


def rules_table() -> str:
    rows = ["| code | name | fix | what it flags |", "|---|---|---|---|"]
    for rule in all_rules():
        rows.append(f"| {rule.code} | `{rule.name}` | {rule.fix_label()} | {rule.summary()} |")
    return "\n".join(rows)


def with_table(readme: str) -> str:
    before, rest = readme.split(START, 1)
    _, after = rest.split(END, 1)
    return f"{before}{START}\n{rules_table()}\n{END}{after}"


def main() -> int:
    readme = Path(__file__).resolve().parent.parent / "README.md"
    text = readme.read_text(encoding="utf-8")
    updated = with_table(text)
    if updated != text:
        readme.write_text(updated, encoding="utf-8")
        print(f"updated the rule table in {readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
