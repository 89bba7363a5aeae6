"""The newcomer's script, repaired by ``--fix --unsafe-fixes``, converges (issue 3's bar)."""

from __future__ import annotations

import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograd_lint import check_source

torch = pytest.importorskip("torch")

QUESTION = Path(__file__).resolve().parent.parent / "fixtures" / "mistakes" / "question.py"
TARGET = [1.0, 2.0, 3.0, 4.0, 5.0]


def autograd_lint(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autograd_lint", *args], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def fixed_script(tmp_path_factory) -> Path:
    script = tmp_path_factory.mktemp("question") / "question.py"
    shutil.copy(QUESTION, script)
    autograd_lint("--fix", "--unsafe-fixes", str(script))
    return script


def test_fixed_script_converges(fixed_script):
    torch.manual_seed(0)
    namespace = runpy.run_path(str(fixed_script), run_name="__main__")
    history = namespace["history"]
    assert len(history) == 1000
    assert all(later < earlier for earlier, later in zip(history, history[1:], strict=False))
    x = namespace["x"].detach()
    assert torch.allclose(x, torch.tensor(TARGET), atol=0.1)


def test_broken_script_does_not_converge():
    torch.manual_seed(0)
    namespace = runpy.run_path(str(QUESTION), run_name="__main__")
    history = namespace["history"]
    assert len(set(history)) == 1  # the stale graph: the same distance every time
    assert (namespace["x"].detach() - torch.tensor(TARGET)).abs().max() > 10


def test_only_the_dtype_alias_is_left(fixed_script):
    findings = check_source(fixed_script.read_text(encoding="utf-8"), str(fixed_script))
    assert [(f.code, fixed_script.read_text().splitlines()[f.line - 1]) for f in findings] == [
        ("AGL008", "dtype = torch.FloatTensor")
    ]


@pytest.mark.slow
def test_fixing_again_changes_nothing(fixed_script):
    before = fixed_script.read_bytes()
    result = autograd_lint("--fix", "--unsafe-fixes", str(fixed_script))
    assert result.returncode == 1  # the alias remains
    assert fixed_script.read_bytes() == before
