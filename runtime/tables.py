"""The runtime check tables in the README and the package docstring, generated from the catalog.

``python -m autograd_lint.runtime.tables`` rewrites them; a test checks they are current.
"""

from __future__ import annotations

import sys
from pathlib import Path

from autograd_lint.runtime.catalog import all_checks

README_START, README_END = "<!-- runtime-checks:start -->", "<!-- runtime-checks:end -->"
DOCSTRING_START, DOCSTRING_END = ".. runtime-checks:start", ".. runtime-checks:end"


def markdown_table() -> str:
    rows = ["| code | check | what it sees |", "|---|---|---|"]
    for check in all_checks():
        where = "runtime only" if check.runtime_only else "also static"
        rows.append(f"| {check.code} | `{check.name}` | {check.summary()} ({where}) |")
    return "\n".join(rows)


def docstring_table() -> str:
    lines = []
    for check in all_checks():
        lines.append(
            f"- {check.code} ``{check.name}``{'' if check.runtime_only else ' (also static)'}: {check.summary()}"
        )
    return "\n".join(lines)


def with_tables(text: str, start: str, end: str, table: str) -> str:
    before, rest = text.split(start, 1)
    _, after = rest.split(end, 1)
    return f"{before}{start}\n\n{table}\n\n{end}{after}"


def generated_files() -> dict[Path, str]:
    """Each file whose table is generated, with the text it should have."""
    here = Path(__file__).resolve().parent
    readme, package = here.parent / "README.md", here / "__init__.py"
    found = {}
    for path, start, end, table in (
        (readme, README_START, README_END, markdown_table()),
        (package, DOCSTRING_START, DOCSTRING_END, docstring_table()),
    ):
        if path.exists():
            found[path] = with_tables(path.read_text(encoding="utf-8"), start, end, table)
    return found


def main() -> int:
    for path, text in generated_files().items():
        if path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            print(f"updated the runtime check table in {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
