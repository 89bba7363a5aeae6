"""Findings that cross process boundaries: one JSON file per process, merged into one report.

Each watched process writes ``<pid>.json`` (``[{"label": ..., "findings": [...]}, ...]``: its own
findings, and on a torchrun rank its children's too) into a folder shared with the process that reports. A finding seen by several processes at the same place is
reported once, its message ending in the processes that saw it: ``(rank 1)``, ``(ranks 0, 1)``.
Needs no torch, so the files can be read by a process that never imported it.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from autograd_lint.finding import Edit, Finding, Fix

Labelled = tuple[str | None, Sequence[Finding]]  # None: the process that reports, unnamed


def write_findings(folder: str, groups: Iterable[Labelled]) -> None:
    """Atomically, so a reader polling the folder never sees half a file."""
    data = [{"label": label, "findings": [dataclasses.asdict(f) for f in findings]} for label, findings in groups]
    final = Path(folder) / f"{os.getpid()}.json"
    partial = final.with_suffix(".partial")
    partial.write_text(json.dumps(data), encoding="utf-8")
    os.replace(partial, final)


def count_files(folder: str) -> int:
    return len(list(Path(folder).glob("*.json")))


def read_findings(folder: str) -> list[Labelled]:
    """Every finished file in ``folder``, oldest first; unreadable ones are skipped."""
    files = sorted(Path(folder).glob("*.json"), key=lambda p: p.stat().st_mtime_ns)
    found: list[Labelled] = []
    for path in files:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            found.extend((group["label"], [_finding_from_json(f) for f in group["findings"]]) for group in data)
        except (OSError, ValueError, KeyError, TypeError):
            continue  # a process killed mid-write leaves only a .partial file; anything else is not ours
    return found


def merge(groups: Iterable[Labelled]) -> list[Finding]:
    """One finding per place and message, naming the processes that saw it when any is named."""
    seen: dict[Finding, list[str | None]] = {}
    for label, findings in groups:
        for finding in findings:
            labels = seen.setdefault(finding, [])
            if label not in labels:
                labels.append(label)
    return [_with_labels(finding, labels) for finding, labels in seen.items()]


def _with_labels(finding: Finding, labels: list[str | None]) -> Finding:
    if labels == [None]:
        return finding
    return dataclasses.replace(finding, message=f"{finding.message} ({_describe(labels)})")


def _describe(labels: list[str | None]) -> str:
    names = [label or "main process" for label in labels]
    ranks = [name.removeprefix("rank ") for name in names if name.startswith("rank ")]
    if len(ranks) == len(names) and len(ranks) > 1:
        return "ranks " + ", ".join(sorted(ranks, key=_number_first))
    return ", ".join(names)


def _number_first(text: str) -> tuple[int, str]:
    return (int(text), "") if text.isdigit() else (1 << 30, text)


def _finding_from_json(data: dict) -> Finding:
    fix = data.pop("fix", None)
    if fix is not None:
        edits = tuple(Edit(**edit) for edit in fix["edits"])
        fix = Fix(fix["description"], fix["applicability"], edits)
    return Finding(**data, fix=fix)
