"""What is generated from the rules' own docs: the README's rule table, a page per rule in
``docs/rules/`` (the SARIF ``helpUri`` and JSON ``url`` point there) and ``catalog.json``
(what ``rules``, ``explain`` and the pre-check read without importing the rules).

``python -m autograd_lint.docs`` rewrites them; a test checks they are current.
"""

from __future__ import annotations

import sys
from pathlib import Path

from .catalog import CATALOG_FILE, catalog_text, default_off_codes, explain_page, rule_infos
from .registry import all_rules

START = "<!-- rules-table:start -->"
END = "<!-- rules-table:end -->"
REPOSITORY = Path(__file__).resolve().parent.parent
README = REPOSITORY / "README.md"
RULE_PAGES = REPOSITORY / "docs" / "rules"


def rules_table() -> str:
    rows = ["| code | name | fix | what it flags |", "|---|---|---|---|"]
    for rule in all_rules():
        summary = rule.summary() + (" Off by default." if rule.default_off else "")
        rows.append(f"| [{rule.code}](docs/rules/{rule.code}.md) | `{rule.name}` | {rule.fix_label()} | {summary} |")
    return "\n".join(rows)


def with_table(readme: str) -> str:
    before, rest = readme.split(START, 1)
    _, after = rest.split(END, 1)
    return f"{before}{START}\n{rules_table()}\n{END}{after}"


def generated() -> dict[Path, str]:
    """Every generated file and the text it should hold."""
    files = {
        README: with_table(README.read_text(encoding="utf-8")),
        CATALOG_FILE: catalog_text(all_rules()),
    }
    for rule in all_rules():
        files[RULE_PAGES / f"{rule.code}.md"] = explain_page(rule.code) or ""
    return files


def stale() -> list[Path]:
    """The generated files that are missing or out of date, and pages of rules that are gone."""
    files = generated()
    out = [path for path, text in files.items() if not path.is_file() or path.read_text(encoding="utf-8") != text]
    if RULE_PAGES.is_dir():
        out.extend(page for page in sorted(RULE_PAGES.glob("AGL*.md")) if page not in files)
    return out


def main() -> int:
    catalog = catalog_text(all_rules())
    if not CATALOG_FILE.is_file() or CATALOG_FILE.read_text(encoding="utf-8") != catalog:
        # The pages are read from the catalog (as `explain` reads them): write it first.
        CATALOG_FILE.write_text(catalog, encoding="utf-8")
        print(f"updated {CATALOG_FILE}")
        rule_infos.cache_clear()
        default_off_codes.cache_clear()
    files = generated()
    RULE_PAGES.mkdir(parents=True, exist_ok=True)
    for page in RULE_PAGES.glob("AGL*.md"):
        if page not in files:
            page.unlink()
            print(f"removed {page}")
    for path, text in files.items():
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            print(f"updated {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
