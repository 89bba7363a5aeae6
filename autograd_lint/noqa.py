"""Suppression comments: ``# noqa``, ``# noqa: AGL002, missing-zero-grad`` and the file-wide
``# autograd-lint: skip-file``. Only real comments count (a ``# noqa`` inside a string does not)."""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Iterable

SKIP_FILE = re.compile(r"#\s*autograd-lint\s*:\s*skip-file")
_NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[\w-]+(?:[\s,]+[\w-]+)*))?", re.IGNORECASE)

# Line -> codes or names silenced there; ``None`` silences every rule.
Suppressions = dict[int, frozenset[str] | None]


def comments(source: str) -> Iterable[tuple[int, str]]:
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.COMMENT:
                yield token.start[0], token.string
    except (tokenize.TokenError, SyntaxError):
        return


def skips_file(source: str) -> bool:
    """Does a comment (not a string) say ``# autograd-lint: skip-file``?"""
    return bool(SKIP_FILE.search(source)) and any(SKIP_FILE.match(comment) for _, comment in comments(source))


def suppressions(source: str) -> Suppressions:
    if "noqa" not in source:
        return {}
    result: Suppressions = {}
    for line, comment in comments(source):
        match = _NOQA.search(comment)
        if match is None:
            continue
        codes = match.group("codes")
        result[line] = None if not codes else frozenset(re.split(r"[\s,]+", codes.strip()))
    return result


def suppressed(table: Suppressions, code: str, name: str, *lines: int) -> bool:
    """Is the rule ``code``/``name`` silenced on any of ``lines`` (a code prefix counts)?"""
    for line in lines:
        if line not in table:
            continue
        codes = table[line]
        if codes is None or code in codes or name in codes:
            return True
        if any(code.startswith(c.upper()) for c in codes if c.upper().startswith("AGL")):
            return True
    return False
