"""Worker processes of ``-j``: they die with their parent, and one that dies costs only its file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograd_lint.config import Config
from autograd_lint.pipeline import Mode, check_paths

LOOP = "import torch\nfor x, y in loader:\n    loss = crit(model(x), y)\n    loss.backward()\n    optimizer.step()\n"


def children(pid: int) -> set[int]:
    found = set()
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        found.update(int(child) for child in task.read_text().split())
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_die_with_their_parent(tmp_path):
    for index in range(64):
        (tmp_path / f"train_{index}.py").write_text(LOOP * 200)
    process = subprocess.Popen(
        [sys.executable, "-m", "autograd_lint", "--fix", "--unsafe-fixes", "-j", "2", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    workers: set[int] = set()
    while time.monotonic() < deadline and len(workers) < 2:
        workers = {pid for pid in children(process.pid) if alive(pid)}
        time.sleep(0.05)
    assert workers, "no worker started"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(alive(pid) for pid in workers):
        time.sleep(0.1)
    assert not any(alive(pid) for pid in workers)


def test_a_pool_run_gives_each_file_its_outcome_in_order(tmp_path):
    paths = []
    for index in range(10):
        path = tmp_path / f"t{index}.py"
        path.write_text(LOOP if index % 2 else "import torch\n")
        paths.append(str(path))
    outcomes = check_paths(paths, Config(), Mode(), jobs=2)
    assert [o.path for o in outcomes] == paths
    assert [bool(o.findings) for o in outcomes] == [bool(i % 2) for i in range(10)]
