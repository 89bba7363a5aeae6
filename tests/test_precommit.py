"""The pre-commit hook, as a user's repository runs it: `pre-commit try-repo` builds its own
environment from this repository (its committed state, plus tracked changes) and runs the hook."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
BAD_CELL = "import torch\nx = torch.autograd.Variable(torch.ones(1))"


@pytest.mark.slow
def test_hook_fails_on_a_mistake_and_passes_on_clean_code(tmp_path: Path):
    user_repo = tmp_path / "user"
    user_repo.mkdir()
    (user_repo / "bad.py").write_text(
        "import torch\nfrom torch.autograd import Variable\nx = Variable(torch.ones(1))\n"
    )
    (user_repo / "good.py").write_text("import torch\nx = torch.ones(1)\n")
    cells = [{"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": BAD_CELL}]
    (user_repo / "bad.ipynb").write_text(
        json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 4})
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env["PRE_COMMIT_HOME"] = str(tmp_path / "pre-commit-home")
    subprocess.run(["git", "init", "-q"], cwd=user_repo, check=True, env=env)
    subprocess.run(["git", "add", "."], cwd=user_repo, check=True, env=env)

    def try_repo(name: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "pre_commit", "try-repo", str(REPO_ROOT), "autograd-lint", "--files", name],
            cwd=user_repo,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )

    bad = try_repo("bad.py")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert re.search(r"^autograd-lint\.+Failed$", bad.stdout, re.MULTILINE)
    assert "bad.py:3:5: AGL003 [*] [deprecated-variable]" in bad.stdout

    notebook = try_repo("bad.ipynb")  # types_or: [python, jupyter]
    assert notebook.returncode == 1, notebook.stdout + notebook.stderr
    assert "bad.ipynb:cell 1:2:5: AGL003 [*] [deprecated-variable]" in notebook.stdout

    good = try_repo("good.py")
    assert good.returncode == 0, good.stdout + good.stderr
    assert re.search(r"^autograd-lint\.+Passed$", good.stdout, re.MULTILINE)


def _snapshot_of_this_checkout(tmp_path: Path, env: dict[str, str]) -> tuple[Path, str]:
    """A clone of this repository with the working tree's files committed (as try-repo does),
    so a .pre-commit-config.yaml can name it with a rev and args of its own."""
    shadow = tmp_path / "shadow"
    subprocess.run(["git", "clone", "-q", str(REPO_ROOT), str(shadow)], check=True, env=env)
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT,
        check=True,
        capture_output=True,
        env=env,
    ).stdout.split(b"\0")
    for name in filter(None, (os.fsdecode(n) for n in listed)):
        source = REPO_ROOT / name
        if source.is_file():
            (shadow / name).parent.mkdir(parents=True, exist_ok=True)
            (shadow / name).write_bytes(source.read_bytes())
    subprocess.run(["git", "add", "-A"], cwd=shadow, check=True, env=env)
    subprocess.run(["git", "commit", "-q", "--allow-empty", "-m", "snapshot"], cwd=shadow, check=True, env=env)
    rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=shadow, check=True, capture_output=True, text=True, env=env)
    return shadow, rev.stdout.strip()


@pytest.mark.slow
def test_hook_with_args_fix_keeps_force_exclude_and_leaves_excluded_files_alone(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home"),
        GIT_AUTHOR_NAME="t",
        GIT_AUTHOR_EMAIL="t@example.com",
        GIT_COMMITTER_NAME="t",
        GIT_COMMITTER_EMAIL="t@example.com",
    )
    shadow, rev = _snapshot_of_this_checkout(tmp_path, env)
    bad = "import torch\nfrom torch.autograd import Variable\nx = Variable(torch.ones(1))\n"
    user_repo = tmp_path / "user"
    (user_repo / "vendored").mkdir(parents=True)
    (user_repo / "src").mkdir()
    (user_repo / "vendored" / "lib.py").write_text(bad)
    (user_repo / "src" / "train.py").write_text(bad)
    (user_repo / "pyproject.toml").write_text('[tool.autograd-lint]\nextend-exclude = ["vendored"]\n')
    (user_repo / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {shadow}\n    rev: {rev}\n    hooks:\n      - id: autograd-lint\n        args: [--fix]\n"
    )
    subprocess.run(["git", "init", "-q"], cwd=user_repo, check=True, env=env)
    subprocess.run(["git", "add", "."], cwd=user_repo, check=True, env=env)
    run = subprocess.run(
        [sys.executable, "-m", "pre_commit", "run", "--all-files"],
        cwd=user_repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 1, run.stdout + run.stderr  # pre-commit fails a hook that changed files
    assert "files were modified by this hook" in run.stdout
    assert (user_repo / "src" / "train.py").read_text() == "import torch\nx = torch.ones(1)\n"
    assert (user_repo / "vendored" / "lib.py").read_text() == bad
