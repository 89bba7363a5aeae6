"""The question's own script, with its `dtype = torch.cuda.FloatTensor` line, repaired by
``--fix --unsafe-fixes``: it then runs on a machine without a GPU (and on one with a GPU,
``benchmarks/gpu_check.sh``), and x descends to the target."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import FIXTURES, autograd_lint_process

from autograd_lint import check_source

torch = pytest.importorskip("torch")

VERBATIM = FIXTURES / "mistakes" / "question_verbatim.py"
TARGET = [1.0, 2.0, 3.0, 4.0, 5.0]
# Runs the script with a fixed seed and prints how far x starts and ends from the target.
RUNNER = textwrap.dedent(
    """
    import runpy, sys, torch
    torch.manual_seed(0)
    start = torch.rand(5)
    torch.manual_seed(0)
    namespace = runpy.run_path(sys.argv[1], run_name="__main__")
    target = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0], device=namespace["x"].device)
    print(namespace["x"].device.type)
    print((start - target.cpu()).abs().max().item(), (namespace["x"].detach() - target).abs().max().item())
    """
)


@pytest.fixture(scope="module")
def fixed_verbatim(tmp_path_factory) -> Path:
    script = tmp_path_factory.mktemp("verbatim") / "question_verbatim.py"
    shutil.copy(VERBATIM, script)
    autograd_lint_process("--fix", "--unsafe-fixes", str(script))
    return script


def run_script(script: Path, *, hide_gpu: bool) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="") if hide_gpu else dict(os.environ)
    return subprocess.run(
        [sys.executable, "-c", RUNNER, str(script)], capture_output=True, text=True, timeout=300, env=env
    )


@pytest.mark.slow
def test_the_verbatim_script_fails_without_a_gpu():
    result = run_script(VERBATIM, hide_gpu=True)
    assert result.returncode != 0
    assert "CUDA" in result.stderr or "cuda" in result.stderr


@pytest.mark.slow
def test_the_fixed_verbatim_script_runs_on_the_cpu_and_reaches_the_target(fixed_verbatim):
    result = run_script(fixed_verbatim, hide_gpu=True)
    assert result.returncode == 0, result.stderr
    device, distances = result.stdout.split("\n", 1)
    start, end = map(float, distances.split())
    assert device == "cpu"
    assert start > 1  # torch.rand(5) starts far from [1, 2, 3, 4, 5]
    assert end < 0.1


@pytest.mark.slow
@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_the_fixed_verbatim_script_runs_on_the_gpu(fixed_verbatim):
    result = run_script(fixed_verbatim, hide_gpu=False)
    assert result.returncode == 0, result.stderr
    device, distances = result.stdout.split("\n", 1)
    assert device == "cuda"
    assert float(distances.split()[1]) < 0.1


@pytest.mark.slow
def test_the_fixed_verbatim_script_is_clean_and_settled(fixed_verbatim):
    source = fixed_verbatim.read_text(encoding="utf-8")
    assert check_source(source, str(fixed_verbatim)) == []
    assert 'device = torch.device("cuda" if torch.cuda.is_available() else "cpu")' in source
    assert "x = torch.rand(5).to(device, torch.float32).detach().requires_grad_()" in source
    again = autograd_lint_process("--fix", "--unsafe-fixes", str(fixed_verbatim))
    assert again.returncode == 0
    assert fixed_verbatim.read_text(encoding="utf-8") == source
