"""Which files a command line means: folders are walked for ``*.py`` and ``*.ipynb``, minus what is excluded.

Exclusion follows ruff: a ``exclude``/``extend-exclude`` pattern without a slash matches
any file or folder name, one with a slash a path relative to the project root (the
folder of the ``pyproject.toml``, else the working directory); ``.gitignore`` files
apply from the walked folder up to the git root. Paths named on the command line are
checked even when excluded, unless ``force_exclude`` is set (pre-commit names every
staged file, so its hook sets it).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path

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


def discover(
    arguments: Sequence[str],
    config: Config,
    *,
    force_exclude: bool = False,
    root: Path | None = None,
) -> Discovery:
    """The files to check, in command-line order, each once; and the paths that are not there."""
    excluder = Excluder(config, root or config.root or Path.cwd())
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
        if force_exclude and excluder.excluded_with_parents(path):
            continue
        if path.is_dir():
            for display in excluder.walk(argument):
                add(display)
        else:
            add(os.path.normpath(argument))
    return found


class Excluder:
    def __init__(self, config: Config, root: Path) -> None:
        self.patterns = tuple(p.strip("/") for p in config.exclude + config.extend_exclude if p.strip("/"))
        self.root = root.resolve()
        self._ignores: dict[tuple[Path, Path], tuple[tuple[Path, pathspec.GitIgnoreSpec], ...]] = {}

    # --- the exclude patterns -------------------------------------------------------------

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

    # --- .gitignore ---------------------------------------------------------------------

    def ignored_by_git(self, path: Path, is_dir: bool, top: Path) -> bool:
        """The deepest ``.gitignore`` with a matching pattern decides, as in git.

        ``top`` is the highest folder whose ``.gitignore`` counts: the git root, or
        outside a repository the folder being walked.
        """
        for base, spec in reversed(self._ignore_chain(path.parent, top)):
            relative = path.relative_to(base).as_posix() + ("/" if is_dir else "")
            decision = spec.check_file(relative).include
            if decision is not None:
                return decision
        return False

    def _ignore_chain(self, folder: Path, top: Path) -> tuple[tuple[Path, pathspec.GitIgnoreSpec], ...]:
        """The ``.gitignore`` files that apply inside ``folder``, shallowest first."""
        key = (folder, top)
        cached = self._ignores.get(key)
        if cached is not None:
            return cached
        if folder == top or top not in folder.parents:
            inherited: tuple = ()
        else:
            inherited = self._ignore_chain(folder.parent, top)
        own = _read_gitignore(folder)
        chain = inherited + ((folder, own),) if own is not None else inherited
        self._ignores[key] = chain
        return chain

    # --- putting it together ----------------------------------------------------------------

    def excluded(self, path: Path, is_dir: bool, top: Path) -> bool:
        """``path`` is absolute, its folder resolved (the file itself may be a link)."""
        return self.excluded_by_pattern(path) or self.ignored_by_git(path, is_dir, top)

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

    def walk(self, start: str) -> Iterable[str]:
        """The ``*.py`` and ``*.ipynb`` files under ``start`` (which itself is not tested), sorted, as display paths."""
        absolute_start = Path(start).resolve()
        top = _git_root(absolute_start) or absolute_start
        for folder, folders, files in os.walk(start):
            absolute = Path(folder).resolve()
            folders[:] = sorted(name for name in folders if not self.excluded(absolute / name, True, top))
            for name in sorted(files):
                if name.endswith(CHECKED_SUFFIXES) and not self.excluded(absolute / name, False, top):
                    yield os.path.normpath(os.path.join(folder, name))


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
