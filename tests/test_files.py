"""Which files a command line means: walking, excludes, .gitignore, explicit paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from autograd_lint.config import Config
from autograd_lint.files import PathError, discover


def tree(root: Path, *files: str) -> None:
    for name in files:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x = 1\n")


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".git").mkdir()
    tree(
        tmp_path,
        "train.py",
        "notes.txt",
        "src/model.py",
        "src/generated/out.py",
        "src/cache.skip.py",
        "src/keep/keep.skip.py",
        ".venv/lib/site.py",
        "venv/lib/site.py",
        "build/lib/copy.py",
        ".ipynb_checkpoints/nb-checkpoint.py",
        "pkg.egg-info/x.py",
        ".git/hooks/hook.py",
    )
    (tmp_path / ".gitignore").write_text("generated/\n*.skip.py\n")
    (tmp_path / "src" / "keep" / ".gitignore").write_text("!keep.skip.py\n")
    return tmp_path


def test_walk_skips_default_excludes_and_gitignored_paths(repo):
    found = discover(["."], Config(root=repo))
    assert found.files == ["train.py", "src/model.py", "src/keep/keep.skip.py"]
    assert found.errors == []


def test_gitignore_above_the_walked_folder_applies_up_to_the_git_root(repo):
    assert discover(["src"], Config(root=repo)).files == ["src/model.py", "src/keep/keep.skip.py"]


def test_gitignore_outside_a_git_repository_applies_from_the_walked_folder_down(repo):
    (repo / ".git").rename(repo / "not-git")
    assert discover(["src"], Config(root=repo)).files == [
        "src/cache.skip.py",
        "src/model.py",
        "src/generated/out.py",
        "src/keep/keep.skip.py",
    ]


def test_explicit_paths_are_checked_even_when_excluded(repo):
    found = discover(["src/generated/out.py", "build"], Config(root=repo))
    assert found.files == ["src/generated/out.py", "build/lib/copy.py"]


def test_force_exclude_applies_excludes_to_explicit_paths(repo):
    arguments = ["src/generated/out.py", "build/lib/copy.py", "src/cache.skip.py", "train.py", "build"]
    assert discover(arguments, Config(root=repo), force_exclude=True).files == ["train.py"]


def test_exclude_patterns_with_a_slash_are_relative_to_the_project_root(repo):
    config = Config(root=repo, extend_exclude=("src/model.py", "train*"))
    assert discover(["."], config).files == ["src/keep/keep.skip.py"]


def test_replacing_exclude_drops_the_defaults(repo):
    found = discover(["."], Config(root=repo, exclude=("src",)))
    assert ".venv/lib/site.py" in found.files
    assert "src/model.py" not in found.files


def test_a_folder_named_like_a_python_file_is_walked(repo):
    tree(repo, "odd.py/inner.py")
    assert discover(["odd.py"], Config(root=repo)).files == ["odd.py/inner.py"]


def test_missing_paths_are_reported_and_duplicates_checked_once(repo):
    found = discover(["train.py", "./train.py", "nope.py", "src", "src/model.py"], Config(root=repo))
    assert found.files == ["train.py", "src/model.py", "src/keep/keep.skip.py"]
    assert found.errors == [PathError("nope.py", "no such file or directory")]


def test_an_explicit_file_of_any_name_is_checked(repo):
    tree(repo, "scripts/train")
    assert discover(["scripts/train", "scripts"], Config(root=repo)).files == ["scripts/train"]


def test_an_ancestor_named_like_an_excluded_folder_does_not_exclude_the_walk(tmp_path, monkeypatch):
    # Only what lies below the walked folder is matched by name: checking out into
    # ~/build/project must not hide every file.
    project = tmp_path / "build" / "project"
    tree(project, "a.py")
    monkeypatch.chdir(project)
    assert discover(["."], Config(root=project)).files == ["a.py"]
    monkeypatch.chdir(tmp_path)
    assert discover(["build/project"], Config(root=tmp_path)).files == ["build/project/a.py"]
