"""Per-file results kept between runs, as ruff does, so an unchanged tree is checked in a blink.

An entry is keyed by a hash of the file's bytes, the tool's version (and, in a source checkout,
its own modules' sizes and times, so a changed rule never meets a stale entry) and the rules
that are on for that file; it holds the findings (fixes included, without the path) or the
syntax error. One file per entry, written to a temporary name and renamed into place, so
parallel workers and concurrent runs never see half an entry, and the same key always means
the same result. Only checks read or write it: ``--fix``, ``--diff`` and ``--add-noqa``
always check afresh.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from .finding import Edit, Finding, Fix

CACHE_DIR_NAME = ".autograd_lint_cache"
CACHE_DIR_ENV = "AUTOGRAD_LINT_CACHE_DIR"
FORMAT = 1
CACHEDIR_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by autograd-lint.\n"
    "# For information about cache directory tags see https://bford.info/cachedir/\n"
)


@dataclass(frozen=True)
class CachedResult:
    findings: tuple[Finding, ...] = ()
    error: tuple[str, int, int] | None = None  # a syntax error: message, line, column


@dataclass(frozen=True)
class ResultCache:
    """Picklable (workers get a copy); every method is safe to call from many processes."""

    directory: Path
    tool: str  # the version, and the modules' fingerprint

    @classmethod
    def open(cls, directory: Path) -> ResultCache | None:
        """The cache in ``directory``, made when missing; ``None`` when it cannot be made
        (a read-only tree is checked without one)."""
        from . import __version__

        try:
            directory.mkdir(parents=True, exist_ok=True)
            for name, text in ((".gitignore", "# Made by autograd-lint.\n*\n"), ("CACHEDIR.TAG", CACHEDIR_TAG)):
                if not (directory / name).exists():
                    _write_atomic(directory / name, text.encode())
        except OSError:
            return None
        return cls(directory, f"{__version__}+{_modules_fingerprint()}")

    def key(self, data: bytes, enabled_codes: tuple[str, ...]) -> str:
        digest = hashlib.sha256()
        for part in (str(FORMAT).encode(), self.tool.encode(), ",".join(enabled_codes).encode(), data):
            digest.update(len(part).to_bytes(8, "little"))
            digest.update(part)
        return digest.hexdigest()

    def _path(self, key: str) -> Path:
        return self.directory / f"v{FORMAT}" / key[:2] / f"{key[2:]}.json"

    def get(self, key: str, path: str) -> CachedResult | None:
        try:
            entry = json.loads(self._path(key).read_text(encoding="utf-8"))
            return CachedResult(
                findings=tuple(finding_from_dict(item, path) for item in entry["findings"]),
                error=tuple(entry["error"]) if entry["error"] is not None else None,
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None  # missing, or from an older format: check again

    def put(self, key: str, result: CachedResult) -> None:
        entry = {"findings": [finding_to_dict(f) for f in result.findings], "error": result.error}
        try:
            target = self._path(key)
            target.parent.mkdir(parents=True, exist_ok=True)
            _write_atomic(target, json.dumps(entry, separators=(",", ":")).encode())
        except OSError:
            pass  # a full disk costs the next run its speed, never this run its results


def cache_directory(option: str | None, project_root: Path) -> Path:
    """``--cache-dir``, else ``AUTOGRAD_LINT_CACHE_DIR``, else ``.autograd_lint_cache`` at the root."""
    chosen = option or os.environ.get(CACHE_DIR_ENV)
    return Path(chosen) if chosen else project_root / CACHE_DIR_NAME


# --- findings as JSON, exactly ------------------------------------------------------------------


def finding_to_dict(finding: Finding) -> dict[str, Any]:
    fix = finding.fix
    return {
        "code": finding.code,
        "name": finding.name,
        "message": finding.message,
        "range": [finding.line, finding.column, finding.end_line, finding.end_column],
        "fix": None
        if fix is None
        else [fix.description, fix.applicability, [[e.start, e.end, e.content] for e in fix.edits]],
    }


def finding_from_dict(item: dict[str, Any], path: str) -> Finding:
    line, column, end_line, end_column = item["range"]
    fix = None
    if item["fix"] is not None:
        description, applicability, edits = item["fix"]
        fix = Fix(description, applicability, tuple(Edit(start, end, content) for start, end, content in edits))
    return Finding(item["code"], item["name"], item["message"], path, line, column, end_line, end_column, fix)


def _write_atomic(target: Path, data: bytes) -> None:
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temporary, target)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


@cache
def _modules_fingerprint() -> str:
    """Sizes and modification times of the package's own files: a rule edited in a checkout
    changes the key even though the version stays."""
    package = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted([*package.glob("*.py"), *package.glob("rules/*.py"), package / "catalog.json"]):
        try:
            info = path.stat()
        except OSError:
            continue
        digest.update(f"{path.name}:{info.st_size}:{info.st_mtime_ns};".encode())
    return digest.hexdigest()[:16]
