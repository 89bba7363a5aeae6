"""Which rules run on which files: built from ``[tool.autograd-lint]`` and the command line."""

from __future__ import annotations

import fnmatch
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DEFAULT_EXCLUDE = (
    ".git",
    ".hg",
    ".svn",
    ".venv",
    "venv",
    ".tox",
    ".nox",
    "__pycache__",
    "build",
    "dist",
    ".eggs",
    "*.egg-info",
    "site-packages",
    "node_modules",
    ".ipynb_checkpoints",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
)


class ConfigError(Exception):
    """A setting that cannot be used; the CLI prints it on one line and exits 2."""


def _codes(value: Any, key: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"'{key}' must be a list of rule codes or names")
    return tuple(v.strip() for v in value if v.strip())


@dataclass(frozen=True)
class Config:
    select: tuple[str, ...] = ("AGL",)
    ignore: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    per_file_ignores: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    extend_exclude: tuple[str, ...] = ()
    root: Path | None = None

    def enabled(self, code: str, name: str, path: str | None = None) -> bool:
        """Is the rule ``code``/``name`` on for ``path``? The longest matching prefix wins."""
        chosen = _best_match(code, name, self.select + self.extend_select)
        dropped = _best_match(code, name, self.ignore + self._ignored_for(path))
        if chosen < 0:
            return False
        return dropped < 0 or chosen > dropped

    def _ignored_for(self, path: str | None) -> tuple[str, ...]:
        if not path or not self.per_file_ignores:
            return ()
        relative = self._relative(path)
        ignored: list[str] = []
        for pattern, codes in self.per_file_ignores.items():
            if _path_matches(relative, pattern):
                ignored.extend(codes)
        return tuple(ignored)

    def _relative(self, path: str) -> str:
        p = Path(path)
        if self.root is not None:
            try:
                return p.resolve().relative_to(self.root.resolve()).as_posix()
            except (ValueError, OSError):
                pass
        return p.as_posix()

    def with_overrides(self, **changes: Any) -> Config:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def _best_match(code: str, name: str, selectors: Iterable[str]) -> int:
    """Length of the most specific selector matching the rule, or -1."""
    best = -1
    for selector in selectors:
        if selector == "ALL":
            best = max(best, 0)
        elif selector == name:
            best = max(best, 100)
        elif code.startswith(selector.upper()):
            best = max(best, len(selector))
    return best


def _path_matches(relative: str, pattern: str) -> bool:
    pattern = pattern.rstrip("/")
    return (
        fnmatch.fnmatchcase(relative, pattern)
        or fnmatch.fnmatchcase(relative, pattern + "/*")
        or fnmatch.fnmatchcase(relative, "*/" + pattern)
        or fnmatch.fnmatchcase(relative, "*/" + pattern + "/*")
    )


def find_pyproject(start: Path) -> Path | None:
    """The nearest ``pyproject.toml`` at or above ``start`` that has our table."""
    start = start.resolve()
    folder = start if start.is_dir() else start.parent
    for candidate in (folder, *folder.parents):
        pyproject = candidate / "pyproject.toml"
        if pyproject.is_file():
            try:
                data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
                raise ConfigError(f"{pyproject}: cannot read config: {error}") from None
            if "autograd-lint" in data.get("tool", {}):
                return pyproject
    return None


def load_config(pyproject: Path | None) -> Config:
    if pyproject is None:
        return Config()
    data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    table = data.get("tool", {}).get("autograd-lint", {})
    return config_from_table(table, root=pyproject.parent, source=str(pyproject))


KNOWN_KEYS = {"select", "ignore", "extend-select", "per-file-ignores", "exclude", "extend-exclude"}


def config_from_table(table: Mapping[str, Any], root: Path | None, source: str) -> Config:
    unknown = sorted(set(table) - KNOWN_KEYS)
    if unknown:
        raise ConfigError(f"{source}: unknown key [tool.autograd-lint] {unknown[0]!r}")
    changes: dict[str, Any] = {"root": root}
    for key in ("select", "ignore", "extend-select"):
        if key in table:
            changes[key.replace("-", "_")] = _codes(table[key], key)
    for key in ("exclude", "extend-exclude"):
        if key in table:
            changes[key.replace("-", "_")] = _codes(table[key], key)
    if "per-file-ignores" in table:
        raw = table["per-file-ignores"]
        if not isinstance(raw, Mapping):
            raise ConfigError(f"{source}: 'per-file-ignores' must be a table of pattern = [codes]")
        changes["per_file_ignores"] = {
            str(pattern): _codes(codes, "per-file-ignores") for pattern, codes in raw.items()
        }
    return Config().with_overrides(**changes)
