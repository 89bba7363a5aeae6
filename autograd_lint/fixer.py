"""Applying the rules' fixes: rounds of non-overlapping fixes until the file settles (as ruff).

Each round takes the applicable fixes in source order, skipping any whose edits touch
an edit already taken (they get their turn on the re-checked text of the next round),
applies them all at once, and checks again. A round whose result no longer parses is
redone one fix at a time, dropping the fixes that break it: a fix never leaves
unparsable code behind.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from .config import Config
from .engine import SourceError, check_source, parse
from .finding import Edit, Finding, Fix
from .syntax_errors import python_syntax_error

__all__ = ["FixResult", "apply_fixes", "apply_round", "choose_fixes", "fix_source", "python_syntax_error"]

MAX_ROUNDS = 10


@dataclass
class FixResult:
    source: str
    fixed: list[Finding] = field(default_factory=list)
    remaining: list[Finding] = field(default_factory=list)


def fix_source(source: str, path: str, config: Config | None = None, unsafe: bool = False) -> FixResult:
    """Apply the safe (and with ``unsafe`` the unsafe) fixes. Raises ``SourceError`` if
    ``source`` itself does not parse."""
    findings = check_source(source, path, config)
    fixed: list[Finding] = []
    seen = {source}
    python_accepts_original = _python_parses(source)
    for _ in range(MAX_ROUNDS):
        chosen = choose_fixes(findings, unsafe)
        if not chosen:
            break
        chosen, candidate = apply_round(source, chosen, python_accepts_original)
        if not chosen:
            break
        if candidate in seen:
            break  # two fixes undoing each other
        seen.add(candidate)
        source = candidate
        fixed.extend(chosen)
        fixed.extend(subsumed(findings, chosen, unsafe))
        findings = check_source(source, path, config)
    return FixResult(source=source, fixed=fixed, remaining=findings)


def choose_fixes(findings: Sequence[Finding], unsafe: bool) -> list[Finding]:
    """The applicable fixes of one round: none of their edits overlaps or touches another's."""
    chosen: list[Finding] = []
    taken: list[tuple[int, int]] = []
    candidates = [
        f for f in findings if f.fix is not None and f.fix.edits and (unsafe or f.fix.applicability == "safe")
    ]
    candidates.sort(key=lambda f: (_first_offset(f), f.sort_key))
    for finding in candidates:
        edits = sorted(_edits(finding), key=lambda e: (e.start, e.end))
        if any(later.start < earlier.end for earlier, later in zip(edits, edits[1:], strict=False)):
            continue  # a fix at odds with itself
        spans = [(e.start, e.end) for e in edits]
        if any(start <= other_end and other_start <= end for start, end in spans for other_start, other_end in taken):
            continue
        chosen.append(finding)
        taken.extend(spans)
    return chosen


def _edits(finding: Finding) -> tuple[Edit, ...]:
    return finding.fix.edits if finding.fix is not None else ()


def _first_offset(finding: Finding) -> int:
    return min(e.start for e in _edits(finding))


def subsumed(findings: Sequence[Finding], chosen: Sequence[Finding], unsafe: bool) -> list[Finding]:
    """Findings left out of a round whose every edit a chosen fix made anyway: fixed with it (a rule
    may fold several findings' edits into one all-or-nothing fix, as AGL003 does with its import)."""
    made = {edit for finding in chosen for edit in finding.fix.edits}  # type: ignore[union-attr]
    return [
        f
        for f in findings
        if f not in chosen
        and f.fix is not None
        and f.fix.edits
        and (unsafe or f.fix.applicability == "safe")
        and set(f.fix.edits) <= made
    ]


def apply_fixes(source: str, fixes: Sequence[Fix]) -> str:
    """Apply non-overlapping fixes, all edits of each; offsets refer to ``source``."""
    edits = sorted((e for fix in fixes for e in fix.edits), key=lambda e: (e.start, e.end))
    pieces: list[str] = []
    position = 0
    for edit in edits:
        pieces.append(source[position : edit.start])
        pieces.append(edit.content)
        position = edit.end
    pieces.append(source[position:])
    return "".join(pieces)


def apply_round(source: str, chosen: list[Finding], python_accepts_original: bool = True) -> tuple[list[Finding], str]:
    """Apply one round's fixes; if the result does not parse, only those that keep it parsing.

    Returns the findings whose fixes were applied and the new text.
    """
    candidate = apply_fixes(source, [f.fix for f in chosen if f.fix is not None])
    if _parses(candidate, python_accepts_original):
        return chosen, candidate
    kept: list[Finding] = []
    # From the end, so the offsets of the fixes still to try stay valid.
    for finding in sorted(chosen, key=lambda f: -_first_offset(f)):
        candidate = apply_fixes(source, [f for f in [finding.fix] if f is not None])
        if _parses(candidate, python_accepts_original):
            source = candidate
            kept.append(finding)
    return kept, source


def _parses(source: str, python_accepts_original: bool) -> bool:
    try:
        parse(source)
    except SourceError:
        return False
    # libcst accepts a little that Python rejects; a fix must not add such a thing.
    return not python_accepts_original or _python_parses(source)


def _python_parses(source: str) -> bool:
    return python_syntax_error(source) is None
