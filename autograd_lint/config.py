"""Which rules run on which files: built from ``[tool.autograd-lint]`` and the command line.

Reading the TOML, validating rule selectors and applying command-line overrides all live here;
the CLI only gathers its options into ``Overrides``.
"""

from __future__ import annotations

import fnmatch
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .parsing import DEFAULT_MAX_FILE_SIZE
from .registry import all_rules

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
    # Files larger than this (bytes) are one error line, not minutes of parsing and gigabytes.
    max_file_size: int = DEFAULT_MAX_FILE_SIZE

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


KNOWN_KEYS = {"select", "ignore", "extend-select", "per-file-ignores", "exclude", "extend-exclude", "max-file-size"}


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
    if "max-file-size" in table:
        size = table["max-file-size"]
        if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
            raise ConfigError(f"{source}: 'max-file-size' must be a positive number of bytes")
        changes["max_file_size"] = size
    if "per-file-ignores" in table:
        raw = table["per-file-ignores"]
        if not isinstance(raw, Mapping):
            raise ConfigError(f"{source}: 'per-file-ignores' must be a table of pattern = [codes]")
        changes["per_file_ignores"] = {
            str(pattern): _codes(codes, "per-file-ignores") for pattern, codes in raw.items()
        }
    return Config().with_overrides(**changes)


# --- from files and options to one Config --------------------------------------------------


@dataclass(frozen=True)
class Overrides:
    """What the command line says about settings; empty tuples leave the config's own."""

    config_file: str | None = None
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    extend_exclude: tuple[str, ...] = ()


def resolve_config(overrides: Overrides, anchors: Sequence[str]) -> Config:
    """The config for a run: ``--config`` or the nearest ``pyproject.toml`` with our table (from
    the common parent of ``anchors``), then the command line's overrides. Raises ``ConfigError``."""
    if overrides.config_file:
        config = read_config_file(Path(overrides.config_file))
    else:
        pyproject = find_pyproject(common_parent(anchors))
        config = read_config_file(pyproject) if pyproject else Config(root=Path.cwd())
    check_selectors(config.select + config.ignore + config.extend_select, "the config")
    for codes in config.per_file_ignores.values():
        check_selectors(codes, "per-file-ignores")
    changes: dict[str, Any] = {}
    if overrides.select:
        changes.update(select=check_selectors(overrides.select, "--select"), ignore=(), extend_select=())
    if overrides.ignore:
        changes["ignore"] = changes.get("ignore", config.ignore) + check_selectors(overrides.ignore, "--ignore")
    if overrides.extend_select:
        extra = check_selectors(overrides.extend_select, "--extend-select")
        changes["extend_select"] = changes.get("extend_select", config.extend_select) + extra
    if overrides.exclude:
        changes["exclude"] = overrides.exclude
    if overrides.extend_exclude:
        changes["extend_exclude"] = config.extend_exclude + overrides.extend_exclude
    return replace(config, **changes)


def read_config_file(path: Path) -> Config:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read config: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: {error}") from None
    if path.name == "pyproject.toml" or "tool" in data:
        table = data.get("tool", {}).get("autograd-lint", {})
    else:
        table = data  # a file of its own, holding just our settings
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.autograd-lint] must be a table")
    try:
        return config_from_table(table, root=path.resolve().parent, source=str(path))
    except ConfigError as error:
        message = str(error)
        raise ConfigError(message if message.startswith(str(path)) else f"{path}: {message}") from None


def common_parent(paths: Sequence[str]) -> Path:
    absolute = [os.path.abspath(p) for p in paths]
    if not absolute:
        return Path.cwd()
    try:
        common = Path(os.path.commonpath(absolute))
    except ValueError:  # paths on different drives
        return Path.cwd()
    while not common.exists() and common != common.parent:
        common = common.parent
    return common


def split_selectors(values: Iterable[str]) -> tuple[str, ...]:
    """``("AGL001,AGL002", "AGL003")`` -> each one, stripped: options repeat and take commas."""
    return tuple(part.strip() for value in values for part in value.split(",") if part.strip())


def check_selectors(selectors: Sequence[str], where: str) -> tuple[str, ...]:
    codes = [rule.code for rule in all_rules()]
    names = {rule.name for rule in all_rules()}
    for selector in selectors:
        known = (
            selector == "ALL"
            or selector in names
            or (selector.upper().startswith("AGL") and any(code.startswith(selector.upper()) for code in codes))
        )
        if not known:
            raise ConfigError(f"{where}: unknown rule selector {selector!r} (see 'autograd-lint rules')")
    return tuple(selectors)
