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

from .catalog import default_off_codes, rule_infos

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

# A 5 MB file costs about a minute of CPU and 1.5 GB to check, in every worker that meets
# one (benchmarks/parse_cost.py); the biggest hand-written modules in torch and the stdlib
# are 0.7 to 1.3 MB. Beyond 5 MB it is generated code, and it would hold up the whole run.
DEFAULT_MAX_FILE_SIZE = 5 * 1024 * 1024

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
    ".autograd_lint_cache",
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
        """Is the rule ``code``/``name`` on for ``path``? The longest matching prefix wins; a rule
        that is off by default (AGL900) needs its exact code or name."""
        selectors = self.select + self.extend_select
        if code in default_off_codes():
            selectors = tuple(s for s in selectors if s == name or s.upper() == code)
        chosen = _best_match(code, name, selectors)
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


KNOWN_KEYS = {
    "select",
    "ignore",
    "extend-select",
    "per-file-ignores",
    "exclude",
    "extend-exclude",
    "extend",
    "max-file-size",
}


def config_from_table(table: Mapping[str, Any], root: Path | None, source: str) -> Config:
    return merge_table(Config(), table, root, source)


def merge_table(base: Config, table: Mapping[str, Any], root: Path | None, source: str) -> Config:
    """``base`` with a table's settings on top (an ``extend``-ed file's, or ``--config``'s).

    As in ruff: a ``select`` starts the rule selection afresh, ``ignore`` and ``extend-select``
    add to what ``base`` had; ``exclude`` replaces, ``extend-exclude`` adds; per-file ignores
    merge, the table's patterns winning. Selectors are checked here, so a typo is reported
    with the file it is in.
    """
    unknown = sorted(set(table) - KNOWN_KEYS)
    if unknown:
        table_name = "[tool.autograd-lint] " if source.endswith("pyproject.toml") else ""
        raise ConfigError(f"{source}: unknown key {table_name}{unknown[0]!r}")
    codes = {
        key: check_selectors(_codes(table[key], key), source)
        for key in ("select", "ignore", "extend-select")
        if key in table
    }
    changes: dict[str, Any] = {"root": root}
    if "select" in codes:
        changes.update(
            select=codes["select"], ignore=codes.get("ignore", ()), extend_select=codes.get("extend-select", ())
        )
    else:
        changes.update(
            ignore=base.ignore + codes.get("ignore", ()),
            extend_select=base.extend_select + codes.get("extend-select", ()),
        )
    if "max-file-size" in table:
        size = table["max-file-size"]
        if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
            raise ConfigError(f"{source}: 'max-file-size' must be a positive number of bytes")
        changes["max_file_size"] = size
    if "exclude" in table:
        changes["exclude"] = _codes(table["exclude"], "exclude")
    if "extend-exclude" in table:
        changes["extend_exclude"] = base.extend_exclude + _codes(table["extend-exclude"], "extend-exclude")
    if "per-file-ignores" in table:
        raw = table["per-file-ignores"]
        if not isinstance(raw, Mapping):
            raise ConfigError(f"{source}: 'per-file-ignores' must be a table of pattern = [codes]")
        added = {
            str(pattern): check_selectors(_codes(codes, "per-file-ignores"), source) for pattern, codes in raw.items()
        }
        changes["per_file_ignores"] = {**base.per_file_ignores, **added}
    return base.with_overrides(**changes)


# --- the files ----------------------------------------------------------------------------


def read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read config: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: cannot read config: {error}") from None


def settings_table(path: Path, data: Mapping[str, Any]) -> dict[str, Any] | None:
    """Our settings in a config file: ``[tool.autograd-lint]`` of a ``pyproject.toml`` (``None``
    when it has none), or the whole of a file of our own."""
    if path.name == "pyproject.toml" or "tool" in data:
        tool = data.get("tool", {})
        table = tool.get("autograd-lint") if isinstance(tool, dict) else None
        if table is None:
            return None
    else:
        table = dict(data)
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.autograd-lint] must be a table")
    return table


def read_config_file(path: Path, chain: tuple[Path, ...] = ()) -> Config:
    """One config file, with the files it ``extend``s (relative to it) underneath."""
    table = settings_table(path, read_toml(path)) or {}
    base = Config()
    if "extend" in table:
        if not isinstance(table["extend"], str):
            raise ConfigError(f"{path}: 'extend' must be the path of a config file")
        target = Path(os.path.abspath(path.parent / table["extend"]))
        seen = (*chain, Path(os.path.abspath(path)))
        if target in seen:
            cycle = " -> ".join(str(p) for p in (*seen[seen.index(target) :], target))
            raise ConfigError(f"{path}: 'extend' makes a cycle: {cycle}")
        if not target.is_file():
            raise ConfigError(f"{path}: 'extend': no such config file {table['extend']!r}")
        base = read_config_file(target, seen)
    return merge_table(base, table, root=Path(os.path.abspath(path.parent)), source=str(path))


# --- from files and options to one Config --------------------------------------------------


@dataclass(frozen=True)
class Overrides:
    """What the command line says about settings; empty tuples leave the config's own.

    ``config_file`` is ``--config FILE`` (it replaces the search for config files),
    ``config_settings`` the ``--config KEY=VALUE`` fragments, applied over every file's config.
    """

    config_file: str | None = None
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    extend_exclude: tuple[str, ...] = ()
    config_settings: tuple[str, ...] = ()
    isolated: bool = False

    def apply(self, config: Config) -> Config:
        """The command line's selectors and excludes over a config (they win)."""
        changes: dict[str, Any] = {}
        if self.select:
            changes.update(select=check_selectors(self.select, "--select"), ignore=(), extend_select=())
        if self.ignore:
            changes["ignore"] = changes.get("ignore", config.ignore) + check_selectors(self.ignore, "--ignore")
        if self.extend_select:
            extra = check_selectors(self.extend_select, "--extend-select")
            changes["extend_select"] = changes.get("extend_select", config.extend_select) + extra
        if self.exclude:
            changes["exclude"] = self.exclude
        if self.extend_exclude:
            changes["extend_exclude"] = config.extend_exclude + self.extend_exclude
        return replace(config, **changes)


def resolve_config(overrides: Overrides, anchors: Sequence[str]) -> Config:
    """The config for the common parent of ``anchors`` (for one document, say: its own).
    Raises ``ConfigError``."""
    from .resolver import ConfigResolver

    return ConfigResolver(overrides).config_for(common_parent(anchors))


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
    codes = [rule.code for rule in rule_infos()]
    names = {rule.name for rule in rule_infos()}
    for selector in selectors:
        known = (
            selector == "ALL"
            or selector in names
            or (selector.upper().startswith("AGL") and any(code.startswith(selector.upper()) for code in codes))
        )
        if not known:
            raise ConfigError(f"{where}: unknown rule selector {selector!r} (see 'autograd-lint rules')")
    return tuple(selectors)
