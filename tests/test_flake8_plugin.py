"""The flake8 plugin, through a real ``flake8`` process: the same findings, flake8's config and noqa."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from textwrap import dedent

import pytest

from autograd_lint.engine import check_source

pytestmark = pytest.mark.slow

BAD = dedent(
    """\
    import torch

    model = torch.nn.Linear(3, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for batch in torch.randn(10, 3):
        loss = model(batch).sum()
        loss.backward()
        optimizer.step()
    x = torch.autograd.Variable(torch.ones(3))
    """
)


def flake8(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flake8", *args], capture_output=True, text=True, timeout=300, cwd=folder
    )


def test_flake8_select_agl_reports_what_autograd_lint_does(tmp_path: Path):
    (tmp_path / "bad.py").write_text(BAD)
    result = flake8(tmp_path, "--select", "AGL", "bad.py")
    assert result.returncode == 1, result.stderr
    expected = [f"bad.py:{f.line}:{f.column}: {f.code} {f.message}" for f in check_source(BAD, "bad.py")]
    assert result.stdout.splitlines() == expected
    assert expected[0].startswith("bad.py:7:5: AGL002 gradients are never cleared")


def test_flake8_config_and_noqa_decide(tmp_path: Path):
    silenced = BAD.replace("loss.backward()\n", "loss.backward()  # noqa: AGL002\n")
    (tmp_path / "bad.py").write_text(silenced)
    (tmp_path / "setup.cfg").write_text("[flake8]\nselect = AGL\nper-file-ignores = bad.py: AGL003\n")
    assert flake8(tmp_path, "bad.py").stdout == ""
    disabled = flake8(tmp_path, "--disable-noqa", "bad.py")
    assert [line.split()[1] for line in disabled.stdout.splitlines()] == ["AGL002"]


def test_flake8_understands_autograd_lint_s_own_suppressions(tmp_path: Path):
    # A rule's name in the noqa, which flake8 alone would not read as a code.
    (tmp_path / "bad.py").write_text(BAD.replace("loss.backward()\n", "loss.backward()  # noqa: missing-zero-grad\n"))
    result = flake8(tmp_path, "--select", "AGL", "bad.py")
    assert [line.split()[1] for line in result.stdout.splitlines()] == ["AGL003"]


def test_a_file_that_does_not_parse_is_flake8_s_e999(tmp_path: Path):
    (tmp_path / "broken.py").write_text("import torch\nfor x in (:\n")
    result = flake8(tmp_path, "--select", "AGL,E999", "broken.py")
    assert [line.split()[1] for line in result.stdout.splitlines()] == ["E999"], result.stderr
