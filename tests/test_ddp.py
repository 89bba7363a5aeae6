"""``autograd-lint run`` over DDP on CPU (gloo, world size 2): through mp.spawn and through torchrun.

A stale graph planted in rank 1 only is reported once, naming rank 1; the clean script reports nothing.
Each test starts three Python processes that import torch, so they are slow on a small machine.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("torch.distributed")

TRAIN = Path(__file__).resolve().parent.parent / "fixtures" / "runtime" / "ddp" / "train.py"
STALE = "--stale-graph-in-rank-1"
PLANTED = (31, "AGL001")  # first_loss.backward(retain_graph=True), rank 1's line

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def autograd_lint_run(report: Path, *script: str) -> list[str]:
    return [sys.executable, "-m", "autograd_lint", "run", "--format", "json", "-o", str(report), *script]


def torchrun(*command: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc-per-node",
        "2",
        "--master-addr",
        "127.0.0.1",
        "--master-port",
        str(free_port()),
        *command,
    ]


def launch(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=240)


def findings(report: Path) -> list[tuple[int, str, str]]:
    return [(f["line"], f["code"], f["message"]) for f in json.loads(report.read_text(encoding="utf-8"))]


def test_mp_spawn_reports_the_stale_graph_of_rank_1(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    completed = launch(autograd_lint_run(report, str(TRAIN), str(free_port()), STALE))
    assert completed.returncode == 1, completed.stderr
    [(line, code, message)] = findings(report)
    assert (line, code) == PLANTED
    assert message.startswith("backward runs through a graph built before model.module.bias")
    assert message.endswith("(rank 1)")


def test_mp_spawn_of_a_clean_script_reports_nothing(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    completed = launch(autograd_lint_run(report, str(TRAIN), str(free_port())))
    assert completed.returncode == 0, completed.stderr
    assert findings(report) == []


def test_torchrun_gathers_every_rank_into_one_report(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    completed = launch(torchrun("-m", "autograd_lint", "run", "--format", "json", "-o", str(report), str(TRAIN), STALE))
    assert completed.returncode == 1, completed.stderr  # torchrun passes on local rank 0's verdict
    [(line, code, message)] = findings(report)
    assert (line, code) == PLANTED and message.endswith("(rank 1)")
    assert list(tmp_path.iterdir()) == [report]  # written once, by local rank 0


def test_torchrun_of_a_clean_script_reports_nothing_and_succeeds(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    completed = launch(torchrun("-m", "autograd_lint", "run", "--format", "json", "-o", str(report), str(TRAIN)))
    assert completed.returncode == 0, completed.stderr
    assert findings(report) == []


def test_torchrun_run_under_autograd_lint_watches_its_workers(tmp_path: Path) -> None:
    # The other way round: the run wraps torchrun, its workers are watched through the PYTHONPATH hook.
    report = tmp_path / "report.json"
    completed = launch(autograd_lint_run(report, "-m", *torchrun(str(TRAIN), STALE)[2:]))
    assert completed.returncode == 1, completed.stderr
    [(line, code, message)] = findings(report)
    assert (line, code) == PLANTED and message.endswith("(rank 1)")
