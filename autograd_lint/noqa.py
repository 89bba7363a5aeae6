"""Suppression comments: ``# noqa``, ``# noqa: AGL002, missing-zero-grad`` and the file-wide
``# autograd-lint: skip-file``. Only real comments count (a ``# noqa`` inside a string does not).

A finding is suppressed by a ``noqa`` on its own line or on the first line of its statement;
where one of those lines cannot end in a comment (it ends inside a multi-line string, or in a
backslash continuation), the ``noqa`` goes where the string or continuation ends, as in ruff.
``SuppressionUsage`` records which directive (and which of its codes) suppressed something,
so that AGL900 can report the ones that suppressed nothing.
"""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

SKIP_FILE = re.compile(r"#\s*autograd-lint\s*:\s*skip-file")
NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[\w-]+(?:[\s,]+[\w-]+)*))?", re.IGNORECASE)
_SEPARATOR = re.compile(r"[\s,]+")

# Line -> codes or names silenced there; ``None`` silences every rule.
Suppressions = dict[int, frozenset[str] | None]


@dataclass(frozen=True)
class Comment:
    line: int
    column: int  # 0-based, in characters, where the ``#`` is
    text: str


@dataclass(frozen=True)
class Directive:
    """One ``# noqa`` comment. ``codes`` is ``None`` for a bare ``# noqa``."""

    comment: Comment
    start: int  # where the directive begins inside the comment's text
    end: int  # where the directive (with its codes) ends inside it
    codes: tuple[str, ...] | None

    @property
    def line(self) -> int:
        return self.comment.line


def comments(source: str) -> Iterable[Comment]:
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.COMMENT:
                yield Comment(token.start[0], token.start[1], token.string)
    except (tokenize.TokenError, SyntaxError):
        return


def comment_lines(source: str) -> dict[int, int]:
    """For each line that cannot end in a comment (inside a multi-line string, or continued by a
    backslash), the line where a comment about it goes: the next one that can hold one."""
    moved: dict[int, int] = {}
    last = 0  # the last line that can end in a comment
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type in (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT):
                line = token.start[0]
                for skipped in range(last + 1, line):
                    moved[skipped] = line
                last = max(last, line)
    except (tokenize.TokenError, SyntaxError):
        pass
    return moved


def skips_file(source: str) -> bool:
    """Does a comment (not a string) say ``# autograd-lint: skip-file``?"""
    return bool(SKIP_FILE.search(source)) and any(SKIP_FILE.match(comment.text) for comment in comments(source))


def parse_directive(comment: Comment) -> Directive | None:
    match = NOQA.search(comment.text)
    if match is None:
        return None
    codes = match.group("codes")
    parsed = None if not codes else tuple(_SEPARATOR.split(codes.strip()))
    return Directive(comment, match.start(), match.end(), parsed)


def directives(source: str) -> list[Directive]:
    if "noqa" not in source.lower():
        return []
    return [d for d in map(parse_directive, comments(source)) if d is not None]


def suppressions(source: str) -> Suppressions:
    return {d.line: None if d.codes is None else frozenset(d.codes) for d in directives(source)}


def selects(selector: str, code: str, name: str) -> bool:
    """Does one code in a ``noqa`` name this rule (by code, name or code prefix)?"""
    upper = selector.upper()
    return selector == name or upper == code or (upper.startswith("AGL") and code.startswith(upper))


def suppressed(table: Suppressions, code: str, name: str, *lines: int) -> bool:
    """Is the rule ``code``/``name`` silenced on any of ``lines`` (a code prefix counts)?"""
    for line in lines:
        if line not in table:
            continue
        codes = table[line]
        if codes is None or any(selects(c, code, name) for c in codes):
            return True
    return False


@dataclass
class SuppressionUsage:
    """A file's directives and what each suppressed during one check.

    ``enabled`` holds the ``(code, name)`` of the rules that ran: only their codes can be
    judged unused (a code of a rule that is switched off may well be needed elsewhere).
    """

    directives: Sequence[Directive]
    enabled: Sequence[tuple[str, str]] = ()
    moved: dict[int, int] = field(default_factory=dict)  # from ``comment_lines``
    _by_line: dict[int, Directive] = field(init=False, repr=False)
    _used: dict[int, set[str | None]] = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        self._by_line = {d.line: d for d in self.directives}

    def suppresses(self, code: str, name: str, *lines: int) -> bool:
        """Is a finding of ``code``/``name`` on these lines suppressed? Records what suppressed it."""
        for line in dict.fromkeys(self.moved.get(line, line) for line in lines):
            directive = self._by_line.get(line)
            if directive is None:
                continue
            if directive.codes is None:
                self._used.setdefault(line, set()).add(None)
                return True
            matching = [c for c in directive.codes if selects(c, code, name)]
            if matching:
                self._used.setdefault(line, set()).update(matching)
                return True
        return False

    def used(self, directive: Directive) -> set[str | None]:
        """The codes of ``directive`` that suppressed something (``None``: it did, as a bare one)."""
        return self._used.get(directive.line, set())

    def judgeable(self, selector: str) -> bool:
        """Is ``selector`` one of ours that this run could have used: a rule that ran, or an
        ``AGL`` code that names no rule at all? (The runtime monitor's ``AGL1xx`` codes are
        not the checker's to judge.)"""
        if any(selects(selector, code, name) for code, name in self.enabled):
            return True
        upper = selector.upper()
        return upper.startswith("AGL") and not upper.startswith("AGL1") and not _names_a_rule(selector)


def _names_a_rule(selector: str) -> bool:
    from .catalog import rule_infos

    return any(selects(selector, info.code, info.name) for info in rule_infos())
