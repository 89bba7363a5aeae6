"""The result cache: the same report from it as without it, found where it should be, and
never trusted where a decision to write a file is made."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import autograd_lint_process, cli

from autograd_lint.cache import ResultCache, finding_from_dict, finding_to_dict
from autograd_lint.config import Config
from autograd_lint.engine import check_source

LOOP = textwrap.dedent(
    """\
    import torch
    from torch.autograd import Variable

    x = Variable(torch.ones(1))
    for x, y in loader:
        loss = crit(model(x), y)
        loss.backward()
        optimizer.step()
    """
)


def entries(directory: Path) -> list[Path]:
    return sorted(directory.glob("v*/*/*.json"))


def test_findings_with_their_fixes_round_trip_exactly():
    findings = check_source(LOOP, "t.py", Config())
    assert any(f.fix is not None for f in findings)
    for finding in findings:
        back = finding_from_dict(json.loads(json.dumps(finding_to_dict(finding))), "t.py")
        assert (back, back.fix) == (finding, finding.fix)


def test_a_second_run_gives_the_same_report_from_the_cache(in_tmp: Path):
    (in_tmp / "t.py").write_text(LOOP)
    (in_tmp / "broken.py").write_text("import torch\ndef f(:\n")
    first = cli("t.py", "broken.py")
    cache = in_tmp / ".autograd_lint_cache"
    assert (cache / "CACHEDIR.TAG").read_text().startswith("Signature: 8a477f597d28d172789f06886806bc55")
    assert (cache / ".gitignore").read_text().endswith("*\n")
    assert len(entries(cache)) == 2  # the syntax error is kept too
    for fmt in ("text", "json"):
        assert (
            cli("--format", fmt, "t.py", "broken.py").stdout
            == cli("--no-cache", "--format", fmt, "t.py", "broken.py").stdout
        )
    second = cli("t.py", "broken.py")
    assert (second.stdout, second.stderr, second.exit_code) == (first.stdout, first.stderr, first.exit_code)


def test_the_cache_is_what_the_second_run_reads(in_tmp: Path):
    """An entry tampered with shows through: the check was not repeated."""
    (in_tmp / "t.py").write_text(LOOP)
    cli("t.py")
    [entry] = entries(in_tmp / ".autograd_lint_cache")
    data = json.loads(entry.read_text())
    data["findings"][0]["message"] = "from the cache"
    entry.write_text(json.dumps(data))
    assert "from the cache" in cli("t.py").stdout
    assert "from the cache" not in cli("--no-cache", "t.py").stdout


def test_a_changed_file_or_other_settings_are_checked_afresh(in_tmp: Path):
    (in_tmp / "t.py").write_text(LOOP)
    cli("t.py")
    (in_tmp / "t.py").write_text(LOOP.replace("x = Variable(torch.ones(1))", "x = torch.ones(1)"))
    assert "t.py:4:5: AGL003" not in cli("t.py").stdout
    assert cli("--select", "AGL008", "t.py").stdout == "All checks passed!\n"
    assert len(entries(in_tmp / ".autograd_lint_cache")) == 3


def test_fix_never_reads_the_cache(in_tmp: Path):
    (in_tmp / "t.py").write_text(LOOP)
    cli("t.py")
    [entry] = entries(in_tmp / ".autograd_lint_cache")
    entry.write_text(json.dumps({"findings": [], "error": None}))  # a lie: "nothing to fix"
    assert cli("t.py").stdout == "All checks passed!\n"
    fixed = cli("--fix", "t.py")
    assert "1 fixed" in fixed.stdout or "2 fixed" in fixed.stdout
    assert "Variable" not in (in_tmp / "t.py").read_text()


def test_no_cache_cache_dir_and_the_environment(in_tmp: Path, monkeypatch):
    (in_tmp / "t.py").write_text(LOOP)
    cli("--no-cache", "t.py")
    assert not (in_tmp / ".autograd_lint_cache").exists()
    cli("--cache-dir", "elsewhere", "t.py")
    assert len(entries(in_tmp / "elsewhere")) == 1
    monkeypatch.setenv("AUTOGRAD_LINT_CACHE_DIR", str(in_tmp / "from-env"))
    cli("t.py")
    assert len(entries(in_tmp / "from-env")) == 1
    assert not (in_tmp / ".autograd_lint_cache").exists()


def test_the_cache_sits_at_the_project_root(in_tmp: Path):
    (in_tmp / "project" / "src").mkdir(parents=True)
    (in_tmp / "project" / "pyproject.toml").write_text("[tool.autograd-lint]\n")
    (in_tmp / "project" / "src" / "t.py").write_text(LOOP)
    cli("project/src")
    assert len(entries(in_tmp / "project" / ".autograd_lint_cache")) == 1


def test_a_cache_that_cannot_be_made_costs_nothing_but_speed(in_tmp: Path):
    (in_tmp / "t.py").write_text(LOOP)
    (in_tmp / "blocked").write_text("a file where the folder should be")
    assert ResultCache.open(in_tmp / "blocked" / "cache") is None
    result = cli("--cache-dir", "blocked/cache", "t.py")
    assert (result.exit_code, result.stderr) == (1, "")


@pytest.mark.slow
def test_concurrent_parallel_runs_share_one_cache(in_tmp: Path):
    for index in range(40):
        (in_tmp / f"t{index}.py").write_text(LOOP + f"z = {index}\n")
    expected = autograd_lint_process("--no-cache", "--format", "json", ".", cwd=in_tmp).stdout
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "autograd_lint", "-j", "2", "--format", "json", "."],
            cwd=in_tmp,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "NO_COLOR": "1"},
        )
        for _ in range(3)
    ]
    outputs = [run.communicate(timeout=300) for run in runs]
    assert all(stdout == expected and stderr == "" for stdout, stderr in outputs)
    assert len(entries(in_tmp / ".autograd_lint_cache")) == 40
    assert not list((in_tmp / ".autograd_lint_cache").glob("v*/*/.*.tmp"))
    assert autograd_lint_process("--format", "json", ".", cwd=in_tmp).stdout == expected
