"""The command line when its surroundings fail: Ctrl-C, a full disk, closed streams, file names
that are not UTF-8. One line, a documented exit code, never a traceback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

BAD = "import torch\nfrom torch.autograd import Variable\nx = Variable(torch.ones(1))\n"


def shell(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``python -m autograd_lint`` with the shell's redirections (``>&-``, ``<&-``, ``> /dev/full``)."""
    line = f"{sys.executable} -m autograd_lint {command}"
    return subprocess.run(["sh", "-c", line], cwd=cwd, capture_output=True, text=True, timeout=120)


def _blocked_reading(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/syscall").read_text().split()[0] == "0"  # read(2), on x86-64 and arm64 alike
    except (OSError, IndexError):
        return False


@pytest.mark.slow
def test_ctrl_c_exits_130_with_one_line(tmp_path: Path):
    process = subprocess.Popen(
        [sys.executable, "-m", "autograd_lint", "-"],
        cwd=tmp_path,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not _blocked_reading(process.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if not Path(f"/proc/{process.pid}/syscall").exists():
        time.sleep(5)  # no /proc: give it time to reach the read
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert (process.returncode, stdout, stderr) == (130, "", "autograd-lint: interrupted\n")


@pytest.mark.slow
def test_ctrl_c_during_a_parallel_run_stops_it_with_one_line(tmp_path: Path):
    for index in range(200):
        (tmp_path / f"t{index}.py").write_text(BAD + "for x in data:\n    loss(x).backward()\n" * 20)
    process = subprocess.Popen(
        [sys.executable, "-m", "autograd_lint", "--no-cache", "-j", "2", "."],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    time.sleep(4)
    os.killpg(process.pid, signal.SIGINT)  # as a terminal does: the whole process group
    stdout, stderr = process.communicate(timeout=120)
    assert (process.returncode, stderr) == (130, "autograd-lint: interrupted\n")


@pytest.mark.slow
@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("args", ["bad.py", "rules", "--format json bad.py"])
def test_a_full_disk_on_stdout_is_one_line_and_exit_2(tmp_path: Path, args: str):
    (tmp_path / "bad.py").write_text(BAD)
    result = shell(f"{args} > /dev/full", tmp_path)
    assert (result.returncode, result.stderr) == (
        2,
        "autograd-lint: error: cannot write the output: No space left on device\n",
    )


@pytest.mark.slow
def test_a_closed_stdout_is_one_line_and_exit_2(tmp_path: Path):
    (tmp_path / "bad.py").write_text(BAD)
    result = shell("bad.py >&-", tmp_path)
    assert (result.returncode, result.stderr) == (
        2,
        "autograd-lint: error: cannot write the report: stdout is closed\n",
    )


@pytest.mark.slow
def test_a_closed_stdin_is_one_line_and_exit_2(tmp_path: Path):
    result = shell("- <&-", tmp_path)
    assert (result.returncode, result.stdout, result.stderr) == (2, "", "error: cannot read '-': stdin is closed\n")


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="file names as bytes")
def test_a_file_name_that_is_not_utf8_is_reported_in_every_format(tmp_path: Path):
    name = os.fsdecode(b"caf\xe9.py")
    (tmp_path / name).write_text(BAD)
    sarif = subprocess.run(
        [sys.executable, "-m", "autograd_lint", "--format", "sarif", "."],
        cwd=tmp_path,
        capture_output=True,
        timeout=120,
    )
    assert (sarif.returncode, sarif.stderr) == (1, b"")
    [result, _] = json.loads(sarif.stdout)["runs"][0]["results"]
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "caf%E9.py"
    text = subprocess.run([sys.executable, "-m", "autograd_lint", "."], cwd=tmp_path, capture_output=True, timeout=120)
    assert text.returncode == 1
    assert text.stdout.startswith(b"caf\xe9.py:2:28: AGL003")  # the name's own bytes, as ls prints it
