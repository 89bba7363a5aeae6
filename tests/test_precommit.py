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
