"""Which files a command line means: folders are walked for ``*.py`` and ``*.ipynb``, minus what is excluded.

Exclusion follows ruff: a ``exclude``/``extend-exclude`` pattern without a slash matches
any file or folder name, one with a slash a path relative to the project root (the
folder of the config file governing that folder, else the working directory), and each
folder's entries are judged by that folder's own config; ``.gitignore`` files apply from
the walked folder up to the git root. Paths named on the command line are checked even
when excluded or ignored, and a named folder is walked even when a ``.gitignore`` ignores
it, unless ``force_exclude`` is set (pre-commit names every staged file, so its hook sets it).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Protocol

import pathspec

from .config import Config

# What a folder is walked for (.ipynb_checkpoints is excluded by default, as in ruff).
CHECKED_SUFFIXES = (".py", ".ipynb")


@dataclass(frozen=True)
class PathError:
    path: str
    message: str


@dataclass
class Discovery:
    files: list[str] = field(default_factory=list)
    errors: list[PathError] = field(default_factory=list)


class ConfigSource(Protocol):
    def config_for(self, path: str | os.PathLike[str]) -> Config: ...


@dataclass(frozen=True)
class OneConfig:
    """The same config for every file (a ``Config`` passed where a ``ConfigSource`` is wanted)."""

    config: Config

    def config_for(self, path: str | os.PathLike[str]) -> Config:
        return self.config


def discover(arguments: Sequence[str], settings: Config | ConfigSource, *, force_exclude: bool = False) -> Discovery:
    """The files to check, in command-line order, each once; and the paths that are not there."""
    excluders = Excluders(OneConfig(settings) if isinstance(settings, Config) else settings)
    found = Discovery()
    seen: set[str] = set()

    def add(display: str) -> None:
        key = os.path.realpath(display)
        if key not in seen:
            seen.add(key)
            found.files.append(display)

    for argument in arguments:
        path = Path(argument)
        if not path.exists() and not path.is_symlink():
            found.errors.append(PathError(argument, "no such file or directory"))
            continue
        if force_exclude and excluders.for_path(path).excluded_with_parents(path):
            continue
        if path.is_dir():
            for display in excluders.walk(argument):
                add(display)
        else:
            add(os.path.normpath(argument))
    return found


class Excluders:
    """One ``Excluder`` per config in effect, sharing what they read of ``.gitignore`` files."""

    def __init__(self, settings: ConfigSource) -> None:
        self.settings = settings
        self.gitignores = GitIgnores()
        self._by_config: dict[int, tuple[Config, Excluder]] = {}

    def for_path(self, path: Path) -> Excluder:
        config = self.settings.config_for(path)
        entry = self._by_config.get(id(config))
        if entry is None:
            entry = self._by_config[id(config)] = (config, Excluder(config, config.root or Path.cwd(), self.gitignores))
        return entry[1]

    def walk(self, start: str) -> Iterable[str]:
        """The ``*.py`` files under ``start`` (which itself is not tested), sorted, as display
        paths; each folder's entries judged by the config that governs that folder."""
        named = Path(start).resolve()
        top = _git_root(named) or named
        for folder, folders, files in os.walk(start):
            absolute = Path(folder).resolve()
            excluder = self.for_path(absolute)
            folders[:] = sorted(name for name in folders if not excluder.excluded(absolute / name, True, top, named))
            for name in sorted(files):
                if name.endswith(CHECKED_SUFFIXES) and not excluder.excluded(absolute / name, False, top, named):
                    yield os.path.normpath(os.path.join(folder, name))


class Excluder:
    """The exclude patterns of one config (relative to its root) and the ``.gitignore`` files."""

    def __init__(self, config: Config, root: Path, gitignores: GitIgnores | None = None) -> None:
        self.patterns = tuple(p.strip("/") for p in config.exclude + config.extend_exclude if p.strip("/"))
        self.root = root.resolve()
        self.gitignores = gitignores or GitIgnores()

    def excluded_by_pattern(self, path: Path) -> bool:
        name = path.name
        relative = self._relative(path)
        for pattern in self.patterns:
            if "/" in pattern:
                if relative is not None and (fnmatchcase(relative, pattern) or fnmatchcase(relative, pattern + "/*")):
                    return True
            elif fnmatchcase(name, pattern):
                return True
        return False

    def _relative(self, path: Path) -> str | None:
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return None

    def excluded(self, path: Path, is_dir: bool, top: Path, named: Path | None = None) -> bool:
        """``path`` is absolute, its folder resolved (the file itself may be a link); ``named``
        is the folder the command line named, which ``.gitignore`` cannot exclude."""
        return self.excluded_by_pattern(path) or self.gitignores.ignored(path, is_dir, top, named)

    def excluded_with_parents(self, path: Path) -> bool:
        """For ``--force-exclude``: is the path, or a folder above it inside the project, excluded?"""
        absolute = path.resolve()
        top = _git_root(absolute.parent) or absolute.parent
        candidates = [absolute]
        for parent in absolute.parents:
            if self.root not in parent.parents:
                break
            candidates.append(parent)
        return any(self.excluded(p, p.is_dir(), top) for p in candidates)


class GitIgnores:
    """The ``.gitignore`` files of a tree, each read once."""

    def __init__(self) -> None:
        self._chains: dict[tuple[Path, Path], tuple[tuple[Path, pathspec.GitIgnoreSpec], ...]] = {}
        self._unnamed: dict[tuple[Path, Path], pathspec.GitIgnoreSpec] = {}

    def ignored(self, path: Path, is_dir: bool, top: Path, named: Path | None = None) -> bool:
        """The deepest ``.gitignore`` with a matching pattern decides, as in git.

        ``top`` is the highest folder whose ``.gitignore`` counts: the git root, or outside a
        repository the folder being walked. Below a folder the command line ``named``, the
        patterns that ignore that folder itself (or a folder above it) do not count: what you
        name is checked, as in ruff.
        """
        for base, spec in reversed(self._chain(path.parent, top)):
            if named is not None and base != named and base in named.parents:
                spec = self._without_patterns_matching(base, spec, named)
            relative = path.relative_to(base).as_posix() + ("/" if is_dir else "")
            decision = spec.check_file(relative).include
            if decision is not None:
                return decision
        return False

    def _without_patterns_matching(
        self, base: Path, spec: pathspec.GitIgnoreSpec, named: Path
    ) -> pathspec.GitIgnoreSpec:
        key = (base, named)
        cached = self._unnamed.get(key)
        if cached is None:
            between = [named, *(p for p in named.parents if base in p.parents)]
            folders = [p.relative_to(base).as_posix() + "/" for p in between]
            kept = [p for p in spec.patterns if not (p.include and any(p.match_file(f) for f in folders))]
            cached = self._unnamed[key] = pathspec.GitIgnoreSpec(kept)
        return cached

    def _chain(self, folder: Path, top: Path) -> tuple[tuple[Path, pathspec.GitIgnoreSpec], ...]:
        """The ``.gitignore`` files that apply inside ``folder``, shallowest first."""
        key = (folder, top)
        cached = self._chains.get(key)
        if cached is not None:
            return cached
        if folder == top or top not in folder.parents:
            inherited: tuple = ()
        else:
            inherited = self._chain(folder.parent, top)
        own = _read_gitignore(folder)
        chain = inherited + ((folder, own),) if own is not None else inherited
        self._chains[key] = chain
        return chain


def _git_root(folder: Path) -> Path | None:
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return candidate
    return None


def _read_gitignore(folder: Path) -> pathspec.GitIgnoreSpec | None:
    try:
        text = (folder / ".gitignore").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    return pathspec.GitIgnoreSpec.from_lines(text.splitlines())
