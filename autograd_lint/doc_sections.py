"""The fixed sections of a rule's or a runtime check's documentation, and their parser.

Free of libcst and torch, so the runtime catalog, ``rules`` and ``explain`` can read docs cheaply.
"""

from __future__ import annotations

import re

# Every static rule and every runtime check documents these, in this order.
CHECK_SECTIONS = ("What it does", "Why is this bad?", "Example", "Use instead", "Known false positives")
# A static rule also says what its fixes may change.
RULE_SECTIONS = (*CHECK_SECTIONS, "Fix safety")

_HEADING = re.compile(r"^## (.+?)\s*$", re.MULTILINE)


def parse_doc_sections(doc: str) -> dict[str, str]:
    """``## Heading`` -> the text under it, for a dedented docstring."""
    sections: dict[str, str] = {}
    matches = list(_HEADING.finditer(doc))
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(doc)
        sections[match.group(1)] = doc[match.end() : end].strip("\n")
    return sections


def summary(sections: dict[str, str]) -> str:
    """The first sentence of "What it does", for tables and listings."""
    paragraph = " ".join(sections.get("What it does", "").strip().split("\n\n")[0].split())
    return re.split(r"(?<=[.!?])\s+(?=[A-Z`])", paragraph, maxsplit=1)[0]
