"""Which config governs which file: the nearest one, per file, as in ruff.

In each folder from the file's up to the root of the file system, the first of
``.autograd-lint.toml``, ``autograd-lint.toml`` and a ``pyproject.toml`` with a
``[tool.autograd-lint]`` table is the file's config; without one anywhere the defaults apply,
rooted at the working directory. ``--config FILE`` replaces the search, ``--isolated`` skips
it, and ``--config KEY=VALUE`` fragments and the other options go over whatever was found.
So a file gets the same settings whether the command line names it, its folder or ``.``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .config import (
    Config,
    ConfigError,
    Overrides,
    merge_table,
    read_config_file,
    read_toml,
    settings_table,
    tomllib,
)

# In one folder the first of these that exists wins (a pyproject.toml only with our table).
CONFIG_FILE_NAMES = (".autograd-lint.toml", "autograd-lint.toml", "pyproject.toml")


class ConfigResolver:
    """``config_for(path)``: the settings for one file or folder. Lookups are cached per folder,
    so walking a tree reads each config file once."""

    def __init__(self, overrides: Overrides | None = None, cwd: Path | None = None) -> None:
        self.overrides = overrides or Overrides()
        self.cwd = Path(os.path.abspath(cwd or Path.cwd()))
        self._fragments = _fragment_table(self.overrides.config_settings)
        self._by_folder: dict[Path, Config] = {}
        self._by_file: dict[Path, Config] = {}
        self.default = self._finish(Config(root=self.cwd))
        self._fixed: Config | None = None
        if self.overrides.config_file:
            self._fixed = self._finish(read_config_file(Path(self.overrides.config_file)))
        elif self.overrides.isolated:
            self._fixed = self.default

    def config_for(self, path: str | os.PathLike[str]) -> Config:
        """Raises ``ConfigError`` for a config file that cannot be used."""
        if self._fixed is not None:
            return self._fixed
        absolute = Path(os.path.abspath(path))
        return self._for_folder(absolute if absolute.is_dir() else absolute.parent)

    def config_file_for(self, folder: Path) -> Path | None:
        """The config file that governs ``folder`` (None: the defaults, or a fixed one)."""
        for candidate in (folder, *folder.parents):
            found = _config_file_in(candidate)
            if found is not None:
                return found
        return None

    def _for_folder(self, folder: Path) -> Config:
        cached = self._by_folder.get(folder)
        if cached is not None:
            return cached
        found = _config_file_in(folder)
        if found is not None:
            config = self._by_file.get(found)
            if config is None:
                config = self._by_file[found] = self._finish(read_config_file(found))
        elif folder.parent != folder:
            config = self._for_folder(folder.parent)
        else:
            config = self.default
        self._by_folder[folder] = config
        return config

    def _finish(self, config: Config) -> Config:
        if self._fragments:
            config = merge_table(config, self._fragments, config.root, "--config")
        return self.overrides.apply(config)


def _config_file_in(folder: Path) -> Path | None:
    for name in CONFIG_FILE_NAMES:
        candidate = folder / name
        if not candidate.is_file():
            continue
        if name != "pyproject.toml":
            return candidate
        try:
            text = candidate.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise ConfigError(f"{candidate}: cannot read config: {error}") from None
        if "autograd-lint" not in text:
            continue  # the common case, without parsing it
        if settings_table(candidate, read_toml(candidate)) is not None:
            return candidate
    return None


def _fragment_table(fragments: tuple[str, ...]) -> dict[str, Any]:
    """``--config 'select = ["AGL001"]'`` fragments merged into one table, later ones winning."""
    table: dict[str, Any] = {}
    for fragment in fragments:
        try:
            parsed = tomllib.loads(fragment)
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(
                f"--config {fragment!r}: not a config file, and not a KEY = VALUE setting: {error}"
            ) from None
        table.update(parsed)
    return table


def split_config_options(values: tuple[str, ...]) -> tuple[str | None, tuple[str, ...]]:
    """``--config`` values as (the one file, the ``KEY=VALUE`` fragments). A value is a file when
    it names one, or has no ``=``."""
    files = [v for v in values if os.path.isfile(v) or "=" not in v]
    if len(files) > 1:
        raise ConfigError(f"--config: one config file at most (got {files[0]!r} and {files[1]!r})")
    return (files[0] if files else None), tuple(v for v in values if v not in files)
