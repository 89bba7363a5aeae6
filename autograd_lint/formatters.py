"""Findings to text: pure functions, no I/O (the CLI and ``autograd-lint run`` both print them)."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import quote

import click

from .lines import LineIndex
from .urls import rule_url

if TYPE_CHECKING:
    from .finding import Finding

# json, pathlib and urllib are imported where used: `--version` and `--help` import this
# module (for FORMATS and render_error) and should not pay for them.

FORMATS = ("text", "json", "sarif", "github")
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://pypi.org/project/autograd-lint/"

# What a report shows source lines from: a file's text, or a notebook's cell sources by cell number.
SourceText = str | Mapping[int, str]


class Unchecked(NamedTuple):
    """A path that could not be checked: the parts of its one error line."""

    path: str
    message: str
    line: int | None = None
    column: int | None = None


def render(
    findings: Sequence[Finding],
    fmt: str,
    *,
    color: bool = False,
    sources: Mapping[str, SourceText] | None = None,
    unsafe_fixes: bool = False,
    show_fixes: bool = False,
    summary: bool = True,
    fixed: int | None = None,
    unchecked: Sequence[Unchecked] = (),
) -> str:
    """The report for ``findings`` in format ``fmt``.

    ``sources`` (path -> text, or for a notebook cell number -> cell source) gives the text
    format its source lines and the JSON format its fix positions. ``fixed`` is the number of findings a ``--fix`` run
    repaired, for the text summary; ``unsafe_fixes`` counts unsafe fixes as available.
    ``unchecked`` (the paths that could not be checked) become SARIF's tool execution
    notifications; the other formats leave them to the error lines on stderr.
    """
    import json

    findings = sorted(findings, key=lambda f: f.sort_key)
    sources = sources or {}
    if fmt == "text":
        return _text(findings, color, sources, unsafe_fixes, show_fixes, summary, fixed)
    if fmt == "json":
        return json.dumps([_json_finding(f, sources) for f in findings], indent=2) + "\n"
    if fmt == "sarif":
        return json.dumps(sarif_log(findings, unchecked), indent=2) + "\n"
    if fmt == "github":
        return "".join(github_annotation(f) + "\n" for f in findings)
    raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")


def render_error(
    path: str,
    message: str,
    line: int | None = None,
    column: int | None = None,
    *,
    color: bool = False,
    cell: int | None = None,
) -> str:
    """One line for a file that could not be checked (a syntax error, an unreadable file).

    For a notebook's cell: ``nb.ipynb:cell 7: error: MESSAGE (line 2, column 5)``.
    """
    if cell is not None:
        where = f"{path}:cell {cell}"
        if line is not None:
            message = f"{message} (line {line}, column {column or 1})"
    else:
        where = path if line is None else f"{path}:{line}:{column or 1}"
    label = click.style("error", fg="red", bold=True) if color else "error"
    return f"{_bold(where, color)}: {label}: {message}"


def is_fixable(finding: Finding, unsafe_fixes: bool) -> bool:
    return finding.fix is not None and (finding.fix.applicability == "safe" or unsafe_fixes)


# --- text ------------------------------------------------------------------------------------


def _text(findings, color, sources, unsafe_fixes, show_fixes, summary, fixed) -> str:
    out: list[str] = []
    for finding in findings:
        out.append(text_line(finding, color=color, unsafe_fixes=unsafe_fixes))
        source = source_of(finding, sources)
        if source is not None:
            out.extend(_source_excerpt(source, finding, color))
        if show_fixes and finding.fix is not None:
            note = "" if is_fixable(finding, unsafe_fixes) else " (unsafe: needs --unsafe-fixes)"
            out.append(f"  {_styled('help', color, fg='cyan', bold=True)}: {finding.fix.description}{note}")
    if summary and (findings or fixed):
        out.append(summary_line(findings, unsafe_fixes=unsafe_fixes, fixed=fixed))
    return "".join(line + "\n" for line in out)


def source_of(finding: Finding, sources: Mapping[str, SourceText]) -> str | None:
    """The text ``finding``'s lines count in: its file's, or its notebook cell's."""
    source = sources.get(finding.path)
    if isinstance(source, str) or source is None:
        return source if finding.cell is None else None
    return source.get(finding.cell) if finding.cell is not None else None


def text_line(finding: Finding, *, color: bool = False, unsafe_fixes: bool = False) -> str:
    where = _bold(f"{finding.where}:", color)
    code = _styled(finding.code, color, fg="red", bold=True)
    marker = _styled("[*] ", color, fg="cyan") if is_fixable(finding, unsafe_fixes) else ""
    return f"{where} {code} {marker}[{finding.name}] {finding.message}"


def _source_excerpt(source: str, finding: Finding, color: bool) -> list[str]:
    lines = LineIndex(source)
    if not 1 <= finding.line <= len(lines.starts):
        return []
    text = source[lines.line_start(finding.line) : lines.line_end(finding.line)].rstrip("\r\n")
    start = min(max(finding.column - 1, 0), len(text))
    end = finding.end_column - 1 if finding.end_line == finding.line else len(text.rstrip())
    end = min(max(end, start + 1), max(len(text), start + 1))
    # Keep the tabs of the line before the caret so it lines up on any tab width.
    padding = "".join(ch if ch == "\t" else " " for ch in text[:start])
    carets = _styled("^" * (end - start), color, fg="red", bold=True)
    return [text, padding + carets]


def summary_line(findings: Sequence[Finding], *, unsafe_fixes: bool = False, fixed: int | None = None) -> str:
    remaining = len(findings)
    if fixed is not None:
        total = remaining + fixed
        return f"Found {_problems(total)} ({fixed} fixed, {remaining} remaining)."
    safe = sum(1 for f in findings if f.fix is not None and f.fix.applicability == "safe")
    unsafe = sum(1 for f in findings if f.fix is not None and f.fix.applicability != "safe")
    if unsafe_fixes:
        safe, unsafe = safe + unsafe, 0
    parts = []
    if safe:
        parts.append(f"{safe} fixable with --fix")
    if unsafe:
        parts.append(f"{unsafe} more with --unsafe-fixes" if safe else f"{unsafe} fixable with --fix --unsafe-fixes")
    detail = f" ({', '.join(parts)})" if parts else ""
    return f"Found {_problems(remaining)}{detail}."


def _problems(count: int) -> str:
    return f"{count} problem" + ("" if count == 1 else "s")


def _styled(text: str, color: bool, **style) -> str:
    return click.style(text, **style) if color else text


def _bold(text: str, color: bool) -> str:
    return _styled(text, color, bold=True)


# --- statistics ------------------------------------------------------------------------------


def render_statistics(findings: Sequence[Finding], fmt: str, *, unsafe_fixes: bool = False) -> str:
    """Count per code, most frequent first (``--statistics``)."""
    import json

    counts = Counter(f.code for f in findings)
    names = {f.code: f.name for f in findings}
    fixable = {f.code for f in findings if is_fixable(f, unsafe_fixes)}
    ordered = sorted(counts, key=lambda code: (-counts[code], code))
    if fmt == "json":
        rows = [{"code": c, "name": names[c], "count": counts[c], "fixable": c in fixable} for c in ordered]
        return json.dumps(rows, indent=2) + "\n"
    width = len(str(max(counts.values(), default=0)))
    return "".join(f"{counts[c]:>{width}}\t{c}\t{'[*] ' if c in fixable else ''}{names[c]}\n" for c in ordered)


# --- JSON ------------------------------------------------------------------------------------


def _json_finding(finding: Finding, sources: Mapping[str, SourceText]) -> dict:
    fix = None
    if finding.fix is not None:
        edits = []
        for edit in finding.fix.edits:
            item: dict = {"start": edit.start, "end": edit.end, "content": edit.content}
            if edit.cell is not None:  # offsets into that cell's source
                item["cell"] = edit.cell
            source = source_of(replace(finding, cell=edit.cell), sources)
            lines = LineIndex(source) if source is not None else None
            if lines is not None:
                item["location"] = dict(zip(("line", "column"), lines.position(edit.start), strict=False))
                item["end_location"] = dict(zip(("line", "column"), lines.position(edit.end), strict=False))
            edits.append(item)
        fix = {"description": finding.fix.description, "applicability": finding.fix.applicability, "edits": edits}
    return {
        "path": finding.path,
        "cell": finding.cell,
        "line": finding.line,
        "column": finding.column,
        "end_line": finding.end_line,
        "end_column": finding.end_column,
        "code": finding.code,
        "name": finding.name,
        "message": finding.message,
        "url": _docs_url(finding.code),
        "fix": fix,
    }


def _docs_url(code: str) -> str | None:
    """The rule's page, for the static catalog's codes (the monitor's own have none)."""
    from .catalog import info_by_code_or_name

    return rule_url(code) if info_by_code_or_name(code) is not None else None


# --- SARIF 2.1.0, as GitHub code scanning reads it ----------------------------------------------


def sarif_log(findings: Sequence[Finding], unchecked: Sequence[Unchecked] = ()) -> dict:
    from . import __version__

    descriptors, index = _sarif_rules(findings)
    results = []
    for finding in findings:
        location: dict = {"artifactLocation": _artifact(finding.path)}
        if finding.cell is None:
            location["region"] = {
                "startLine": finding.line,
                "startColumn": finding.column,
                "endLine": finding.end_line,
                "endColumn": finding.end_column,
            }
        # A notebook's lines are not the JSON file's lines: the notebook is the location, the
        # message names the cell and its line.
        results.append(
            {
                "ruleId": finding.code,
                "ruleIndex": index[finding.code],
                "level": "error",
                "message": {"text": _cell_prefix(finding) + finding.message},
                "locations": [{"physicalLocation": location}],
            }
        )
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "autograd-lint",
                        "informationUri": INFORMATION_URI,
                        "version": __version__,
                        "semanticVersion": __version__,
                        "rules": descriptors,
                    }
                },
                # Our columns count Python characters (code points), not UTF-16 units.
                "columnKind": "unicodeCodePoints",
                "invocations": [_sarif_invocation(unchecked)],
                "results": results,
            }
        ],
    }


def _sarif_invocation(unchecked: Sequence[Unchecked]) -> dict:
    notifications = []
    for problem in unchecked:
        location: dict = {"artifactLocation": _artifact(problem.path)}
        if problem.line is not None:
            location["region"] = {"startLine": problem.line, "startColumn": problem.column or 1}
        notifications.append(
            {"level": "error", "message": {"text": problem.message}, "locations": [{"physicalLocation": location}]}
        )
    return {"executionSuccessful": not unchecked, "toolExecutionNotifications": notifications}


def _sarif_rules(findings: Sequence[Finding]) -> tuple[list[dict], dict[str, int]]:
    from .catalog import rule_infos

    descriptors: list[dict] = []
    index: dict[str, int] = {}
    for rule in rule_infos():
        docs = rule.docs()
        help_markdown = "\n\n".join(f"## {title}\n{body}" for title, body in docs.items())
        index[rule.code] = len(descriptors)
        descriptors.append(
            {
                "id": rule.code,
                "name": rule.name,
                "shortDescription": {"text": rule.summary() or rule.message},
                "fullDescription": {"text": " ".join(docs.get("Why is this bad?", rule.summary()).split())},
                "help": {"text": help_markdown, "markdown": help_markdown},
                "helpUri": rule_url(rule.code),
                "defaultConfiguration": {"level": "error"},
                "properties": {"tags": ["autograd", "correctness"]},
            }
        )
    # Findings of the runtime monitor may carry codes the static catalog lacks.
    for finding in findings:
        if finding.code not in index:
            index[finding.code] = len(descriptors)
            text = {"text": finding.name}
            descriptors.append(
                {
                    "id": finding.code,
                    "name": finding.name,
                    "shortDescription": text,
                    "fullDescription": text,
                    "help": text,
                }
            )
    return descriptors, index


def _artifact(path: str) -> dict:

    absolute = Path(os.path.abspath(path))
    try:
        relative = absolute.relative_to(Path.cwd())
    except ValueError:
        return {"uri": absolute.as_uri()}
    # Quoted from the bytes: a name that is not UTF-8 (surrogate-escaped) keeps its own bytes.
    return {"uri": quote(os.fsencode(relative.as_posix())), "uriBaseId": "%SRCROOT%"}


# --- GitHub Actions workflow commands -----------------------------------------------------------


def github_annotation(finding: Finding) -> str:
    properties: dict[str, object] = {"file": finding.path}
    if finding.cell is None:  # in a notebook, the annotation is on the file and names the cell
        properties |= {"line": finding.line, "col": finding.column}
        properties |= {"endLine": finding.end_line, "endColumn": finding.end_column}
    properties["title"] = f"{finding.code} {finding.name}"
    rendered = ",".join(f"{key}={_escape_property(str(value))}" for key, value in properties.items())
    return f"::error {rendered}::{_escape_data(_cell_prefix(finding) + finding.message)}"


def _cell_prefix(finding: Finding) -> str:
    if finding.cell is None:
        return ""
    return f"cell {finding.cell}, line {finding.line}, column {finding.column}: "


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")
