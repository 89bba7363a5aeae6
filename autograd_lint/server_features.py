"""What the language server says about one document, as LSP types: diagnostics, code actions and
hover. Pure functions of the document's text and the settings; ``server.py`` does the talking.

A document that does not parse gets no diagnostics: the editor's Python support already marks
the syntax error, and a half-typed line is a syntax error on most keystrokes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lsprotocol import types

from .config import Config, ConfigError, Overrides, check_selectors, resolve_config, split_selectors
from .editing import EditorPositions, noqa_edit
from .engine import SourceError, check_source
from .files import Excluder
from .finding import Edit, Finding
from .fixer import fix_source
from .registry import rule_by_code_or_name
from .urls import rule_url

SOURCE = "autograd-lint"
FIX_ALL_KIND = f"{types.CodeActionKind.SourceFixAll.value}.{SOURCE}"
RUN_MODES = ("onType", "onSave")
# Where clients put our settings: bare, or under one of these keys.
SETTINGS_KEYS = ("autograd-lint", "autogradLint", "autograd_lint", "settings")


@dataclass(frozen=True)
class Settings:
    """The editor's settings, from ``initializationOptions`` or ``workspace/didChangeConfiguration``.

    ``select`` replaces the project's selection, as ``--select`` does; ``ignore`` adds to it.
    ``unsafeFixes`` offers the unsafe fixes as quick fixes (titled so; never in "fix all").
    ``run`` checks as you type (debounced by ``debounceMs``) or only when the file is saved."""

    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    unsafe_fixes: bool = True
    run: str = "onType"
    debounce_ms: int = 150

    @classmethod
    def from_options(cls, options: Any, base: Settings | None = None) -> Settings:
        """Settings from a client's JSON; what it leaves out keeps ``base``'s value. Raises
        ``ConfigError`` for a value that cannot be used."""
        base = base or cls()
        options = _unwrap(options)
        if not isinstance(options, Mapping):
            return base
        changes: dict[str, Any] = {}
        for key in ("select", "ignore"):
            if key in options:
                value = options[key]
                value = [value] if isinstance(value, str) else value
                if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                    raise ConfigError(f"setting '{key}' must be a list of rule codes or names")
                changes[key] = check_selectors(split_selectors(value), f"setting '{key}'")
        if "unsafeFixes" in options:
            changes["unsafe_fixes"] = bool(options["unsafeFixes"])
        if "run" in options:
            if options["run"] not in RUN_MODES:
                raise ConfigError(f"setting 'run' must be one of {', '.join(RUN_MODES)}, not {options['run']!r}")
            changes["run"] = options["run"]
        if "debounceMs" in options:
            delay = options["debounceMs"]
            if not isinstance(delay, int) or isinstance(delay, bool) or delay < 0:
                raise ConfigError("setting 'debounceMs' must be a whole number of milliseconds, 0 or more")
            changes["debounce_ms"] = delay
        return Settings(**{**base.__dict__, **changes})


def _unwrap(options: Any) -> Any:
    while isinstance(options, Mapping):
        inner = next((options[key] for key in SETTINGS_KEYS if isinstance(options.get(key), Mapping)), None)
        if inner is None:
            return options
        options = inner
    return options


def encoding_name(negotiated: types.PositionEncodingKind | str | None) -> str:
    """How the client counts columns, as negotiated at initialisation: "utf-16" (LSP's default),
    "utf-8" (Helix asks for it first) or "utf-32"."""
    encoding = negotiated or types.PositionEncodingKind.Utf16
    return encoding.value if isinstance(encoding, types.PositionEncodingKind) else str(encoding)


def document_config(path: str | None, settings: Settings) -> Config:
    """The config for one document: its project's (the nearest ``pyproject.toml``), then the
    editor's settings over it. The one place config is resolved for the server."""
    overrides = Overrides(select=settings.select, ignore=settings.ignore)
    return resolve_config(overrides, [path] if path else [])


@dataclass(frozen=True)
class DocumentCheck:
    """One check of one version of a document."""

    source: str
    version: int | None
    findings: tuple[Finding, ...] = ()
    config: Config | None = None
    path: str = "<untitled>"
    error: str | None = None  # a config error, for the user; a syntax error is not one
    positions: EditorPositions = field(init=False, compare=False)
    encoding: str = "utf-16"

    def __post_init__(self) -> None:
        object.__setattr__(self, "positions", EditorPositions(self.source, self.encoding))


def check_document(
    source: str, path: str | None, version: int | None, settings: Settings, encoding: str = "utf-16"
) -> DocumentCheck:
    """Check a document's text as the CLI would check the file at ``path``."""
    name = path or "<untitled>"
    try:
        config = checked_config(path, settings)
    except ConfigError as error:
        return DocumentCheck(source, version, path=name, error=str(error), encoding=encoding)
    if config is None:
        return DocumentCheck(source, version, path=name, encoding=encoding)
    try:
        findings = check_source(source, name, config)
    except SourceError:
        findings = []
    except Exception as error:  # a bug in a rule: say so, and keep serving the other documents
        return DocumentCheck(source, version, config=config, path=name, error=internal_error(error), encoding=encoding)
    return DocumentCheck(source, version, tuple(findings), config, name, encoding=encoding)


def checked_config(path: str | None, settings: Settings) -> Config | None:
    """The config a document at ``path`` is checked with, or ``None`` where its project excludes
    it (as the CLI skips an excluded file). Raises ``ConfigError``."""
    config = document_config(path, settings)
    if path is not None and Excluder(config, config.root or Path.cwd()).excluded_with_parents(Path(path)):
        return None
    return config


def internal_error(error: Exception) -> str:
    return f"internal error, please report it: {type(error).__name__}: {error}"


# --- diagnostics -------------------------------------------------------------------------------


def finding_range(check: DocumentCheck, finding: Finding) -> types.Range:
    start = check.positions.line_column(finding.line, finding.column)
    end = check.positions.line_column(finding.end_line, finding.end_column)
    return types.Range(types.Position(*start), types.Position(*end))


def edit_range(check: DocumentCheck, start: int, end: int) -> types.Range:
    return types.Range(types.Position(*check.positions.position(start)), types.Position(*check.positions.position(end)))


def diagnostic(check: DocumentCheck, finding: Finding) -> types.Diagnostic:
    return types.Diagnostic(
        range=finding_range(check, finding),
        message=finding.message,
        severity=types.DiagnosticSeverity.Warning,
        code=finding.code,
        code_description=types.CodeDescription(href=rule_url(finding.code)),
        source=SOURCE,
        data={"name": finding.name, "fix": finding.fix.applicability if finding.fix else None},
    )


def diagnostics(check: DocumentCheck) -> list[types.Diagnostic]:
    return [diagnostic(check, finding) for finding in check.findings]


# --- code actions --------------------------------------------------------------------------------


def code_actions(
    check: DocumentCheck,
    uri: str,
    request: types.Range,
    only: Sequence[str] | None,
    settings: Settings,
    automatic: bool = False,
    fix_all: Callable[[], types.CodeAction | None] | None = None,
) -> list[types.CodeAction]:
    """The quick fixes and ``# noqa`` actions for the findings the range touches, and "fix all"
    (``fix_all`` makes it where the document is not the whole of what is fixed: a notebook's cell).

    ``automatic`` requests (an editor asking as the cursor moves, for its light bulb, which
    shows no source actions) get no "fix all": it re-checks the file after each round of fixes."""
    actions: list[types.CodeAction] = []
    if _wanted(types.CodeActionKind.QuickFix.value, only):
        for finding in check.findings:
            if not _touches(finding_range(check, finding), request):
                continue
            fix = finding.fix
            if fix is not None and fix.edits and (fix.applicability == "safe" or settings.unsafe_fixes):
                suffix = " (unsafe)" if fix.applicability == "unsafe" else ""
                actions.append(
                    _action(check, uri, f"Fix {finding.code}: {fix.description}{suffix}", fix.edits, finding)
                )
            edit = noqa_edit(check.source, finding.line, finding.code)
            if edit is not None:
                actions.append(_action(check, uri, f"Add `# noqa: {finding.code}`", (edit,), finding))
    if _wanted(FIX_ALL_KIND, only) and not (automatic and not only):
        everything = fix_all() if fix_all is not None else fix_all_action(check, uri)
        if everything is not None:
            actions.append(everything)
    return actions


def fix_all_action(check: DocumentCheck, uri: str) -> types.CodeAction | None:
    """The "Fix all safe problems" action: the CLI's ``--fix`` (its rounds included) on the buffer."""
    if not any(f.fix is not None and f.fix.applicability == "safe" for f in check.findings):
        return None
    try:
        fixed = fix_source(check.source, check.path, check.config, unsafe=False).source
    except SourceError:
        return None
    if fixed == check.source:
        return None
    return fix_all_of([(uri, check, fixed)])


def fix_all_of(fixed: Iterable[tuple[str, DocumentCheck, str]]) -> types.CodeAction:
    """The "Fix all" action that gives each document ``(uri, check, text)`` its fixed text."""
    return types.CodeAction(
        title="Fix all safe problems (autograd-lint)",
        kind=FIX_ALL_KIND,
        edit=types.WorkspaceEdit(
            document_changes=[
                document_edit(check, uri, (smallest_edit(check.source, text),)) for uri, check, text in fixed
            ]
        ),
    )


def _action(check: DocumentCheck, uri: str, title: str, edits: Iterable[Edit], finding: Finding) -> types.CodeAction:
    return types.CodeAction(
        title=title,
        kind=types.CodeActionKind.QuickFix,
        diagnostics=[diagnostic(check, finding)],
        edit=types.WorkspaceEdit(document_changes=[document_edit(check, uri, edits)]),
    )


def document_edit(check: DocumentCheck, uri: str, edits: Iterable[Edit]) -> types.TextDocumentEdit:
    """The edits to one document, in the editor's positions, for the version that was checked."""
    text_edits = [types.TextEdit(edit_range(check, e.start, e.end), e.content) for e in sorted(edits, key=_start)]
    return types.TextDocumentEdit(
        text_document=types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=check.version),
        edits=list(text_edits),
    )


def _start(edit: Edit) -> tuple[int, int]:
    return edit.start, edit.end


def smallest_edit(before: str, after: str) -> Edit:
    """One edit from ``before`` to ``after`` spanning only what changed, so the cursor stays put."""
    prefix = 0
    limit = min(len(before), len(after))
    while prefix < limit and before[prefix] == after[prefix]:
        prefix += 1
    if prefix and before[prefix - 1] == "\r":
        prefix -= 1  # never between the two characters of a \r\n: editors see one line end
    suffix = 0
    while suffix < limit - prefix and before[-1 - suffix] == after[-1 - suffix]:
        suffix += 1
    end = len(before) - suffix
    if suffix and before[end] == "\n" and before[end - 1 : end] == "\r":
        suffix -= 1
    return Edit(prefix, len(before) - suffix, after[prefix : len(after) - suffix])


def _wanted(kind: str, only: Sequence[str] | None) -> bool:
    return not only or any(kind == wanted or kind.startswith(f"{wanted}.") for wanted in only)


def _touches(a: types.Range, b: types.Range) -> bool:
    def key(p: types.Position) -> tuple[int, int]:
        return p.line, p.character

    return key(a.start) <= key(b.end) and key(b.start) <= key(a.end)


# --- hover ---------------------------------------------------------------------------------------


def hover(check: DocumentCheck, position: types.Position) -> types.Hover | None:
    """The rule's summary and a link, for the findings whose range holds ``position``."""
    point = types.Range(position, position)
    parts = []
    for finding in check.findings:
        if not _touches(finding_range(check, finding), point):
            continue
        rule = rule_by_code_or_name(finding.code)
        summary = rule.summary() if rule else finding.message
        fix = f" Fix: {finding.fix.applicability}." if finding.fix else ""
        parts.append(
            f"**{finding.code}** `{finding.name}`: {summary}{fix}\n\n"
            f"[{finding.code} documentation]({rule_url(finding.code)})"
        )
    if not parts:
        return None
    return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value="\n\n---\n\n".join(parts)))
