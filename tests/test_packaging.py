"""The wheel carries every package of the source tree, and the runtime folder cannot be
imported by the wrong name."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
# Source folder -> the package name it installs as (pyproject's package-dir).
PACKAGE_ROOTS = {"autograd_lint": "autograd_lint", "runtime": "autograd_lint/runtime"}


def source_modules() -> set[str]:
    """Every module of every package in the source tree, as its path inside the wheel."""
    expected = set()
    for folder, installed in PACKAGE_ROOTS.items():
        for module in (REPO_ROOT / folder).rglob("*.py"):
            relative = module.relative_to(REPO_ROOT / folder)
            if "__pycache__" in relative.parts:
                continue
            if all(
                (REPO_ROOT / folder / Path(*relative.parts[:i]) / "__init__.py").is_file()
                for i in range(len(relative.parts))
            ):
                expected.add(f"{installed}/{relative.as_posix()}")
    return expected


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    # Built from a copy, so no build/ or egg-info lands in the tree others work in.
    copy = tmp_path_factory.mktemp("source") / "autograd-lint"
    shutil.copytree(
        REPO_ROOT,
        copy,
        ignore=shutil.ignore_patterns(
            ".git", "build", "dist", "*.egg-info", "__pycache__", ".venv", "venv", ".hypothesis"
        ),
    )
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(copy)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    [built] = out.glob("autograd_lint-*.whl")
    return zipfile.ZipFile(built)


@pytest.mark.slow
def test_wheel_contains_every_package_and_module(wheel):
    names = set(wheel.namelist())
    expected = source_modules()
    assert {
        "autograd_lint/__init__.py",
        "autograd_lint/rules/__init__.py",
        "autograd_lint/runtime/__init__.py",
    } <= expected
    assert sorted(expected - names) == []


@pytest.mark.slow
def test_wheel_declares_the_command_and_its_dependencies(wheel):
    [entry_points] = [n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt")]
    assert "autograd-lint = autograd_lint.cli:main" in wheel.read(entry_points).decode()
    [metadata] = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    requires = [line for line in wheel.read(metadata).decode().splitlines() if line.startswith("Requires-Dist:")]
    for dependency in ("libcst", "click", "pathspec"):
        assert any(line.split()[1].startswith(dependency) for line in requires), requires


@pytest.mark.slow
def test_importing_the_runtime_folder_by_its_folder_name_fails_clearly():
    completed = subprocess.run([sys.executable, "-c", "import runtime"], cwd=REPO_ROOT, capture_output=True, text=True)
    assert completed.returncode == 1
    last = completed.stderr.strip().splitlines()[-1]
    assert last.startswith(
        "ImportError: this folder is installed as 'autograd_lint.runtime'; import that instead of 'runtime'"
    )


PROBE = (
    "import importlib.util, autograd_lint, autograd_lint.runtime as r; "
    "print(autograd_lint.__file__); print(r.__file__); "
    "print([n for n in ('tests', 'benchmarks', 'fixtures', 'autograd_lint', 'rules', 'runtime') "
    "if importlib.util.find_spec('autograd_lint.' + n) is not None])"
)


def probe(cwd: Path, **env: str) -> list[str]:
    completed = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=cwd, capture_output=True, text=True, env={**os.environ, **env}, check=True
    )
    return completed.stdout.splitlines()


@pytest.mark.slow
def test_a_checkout_exposes_the_runtime_and_nothing_else_of_its_folders():
    package, runtime, exposed = probe(REPO_ROOT)
    assert Path(package) == REPO_ROOT / "autograd_lint" / "__init__.py"
    assert Path(runtime) == REPO_ROOT / "runtime" / "__init__.py"
    assert exposed == "['rules', 'runtime']"


@pytest.mark.slow
def test_a_plain_install_works_from_anywhere_and_under_a_checkout(tmp_path):
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(REPO_ROOT)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    # As a wheel installs it: runtime inside the package.
    package, runtime, exposed = probe(tmp_path, PYTHONPATH=str(target))
    assert Path(runtime) == target / "autograd_lint" / "runtime" / "__init__.py"
    assert exposed == "['rules', 'runtime']"
    # tox-style: the plain install on the path, run from the checkout, which shadows it.
    package, runtime, exposed = probe(REPO_ROOT, PYTHONPATH=str(target))
    assert Path(runtime) == REPO_ROOT / "runtime" / "__init__.py"
    assert exposed == "['rules', 'runtime']"
