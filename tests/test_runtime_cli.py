"""``autograd-lint run``: the script runs as python would run it, then the report; exit codes as documented."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

pytest.importorskip("torch")
from autograd_lint.runtime_cli import run  # noqa: E402

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "runtime"


def invoke(*args: str):
    return CliRunner().invoke(run, list(args), catch_exceptions=False)


def script(tmp_path: Path, source: str, name: str = "job.py") -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    return str(path)


def test_findings_are_reported_on_stderr_after_the_scripts_own_output_and_exit_1() -> None:
    path = str(FIXTURES / "forgot_zero_grad.py")
    result = invoke(path)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert f"{path}:11:5: AGL002 [missing-zero-grad] SGD.step() uses model.weight.grad" in result.stderr


def test_a_clean_script_exits_0_with_no_findings() -> None:
    result = invoke(str(FIXTURES / "standard_loop.py"))
    assert result.exit_code == 0
    assert "AGL" not in result.stderr


def test_the_script_gets_its_own_argv_path_and_main_guard(tmp_path: Path) -> None:
    path = script(
        tmp_path,
        """
        import sys
        if __name__ == "__main__":
            print(sys.argv, sys.path[0])
        """,
    )
    result = invoke(path, "--format", "json", "-x")
    assert result.exit_code == 0
    assert result.stdout == f"{[path, '--format', 'json', '-x']} {tmp_path}\n"


@pytest.mark.parametrize(
    ("ending", "status", "first_line"),
    [
        ("sys.exit(3)", 3, None),  # the script's failure status wins over the findings' 1
        ("sys.exit('bad data')", 1, "bad data"),  # as python prints and exits
        ("sys.exit(0)", 1, None),  # a success leaves the verdict to the findings
    ],
)
def test_system_exit_passes_through_and_the_report_still_comes(
    tmp_path: Path, ending: str, status: int, first_line
) -> None:
    source = (FIXTURES / "forgot_zero_grad.py").read_text() + f"import sys\n{ending}\n"
    result = invoke(script(tmp_path, source))
    assert result.exit_code == status
    lines = result.stderr.splitlines()
    assert lines[0] == first_line if first_line else "AGL002 [missing-zero-grad]" in lines[0]
    assert lines[-1] == "Found 1 problem."


def test_a_clean_script_that_exits_with_a_status_keeps_it(tmp_path: Path) -> None:
    assert invoke(script(tmp_path, "import sys\nsys.exit(4)\n")).exit_code == 4


def test_a_failing_script_shows_its_own_traceback_and_exits_1(tmp_path: Path) -> None:
    path = script(
        tmp_path,
        """
        def train():
            return 1 / 0

        train()
        """,
    )
    result = invoke(path)
    assert result.exit_code == 1
    assert result.stderr.startswith("Traceback (most recent call last):\n")
    assert f'File "{path}", line 5, in <module>' in result.stderr
    assert result.stderr.rstrip().endswith("ZeroDivisionError: division by zero")
    assert "runpy" not in result.stderr and "runner.py" not in result.stderr


def test_json_report_to_a_file(tmp_path: Path) -> None:
    output = tmp_path / "report.json"
    result = invoke("--format", "json", "--output", str(output), str(FIXTURES / "newcomer_descent.py"))
    assert result.exit_code == 1
    assert result.stderr == ""
    report = json.loads(output.read_text())
    assert [(f["code"], f["line"]) for f in report] == [("AGL001", 10), ("AGL002", 10)]


def test_github_annotations() -> None:
    result = invoke("--format", "github", str(FIXTURES / "losses_kept.py"))
    assert result.exit_code == 1
    assert result.stderr.startswith("::") and "AGL006" in result.stderr


def test_a_missing_script_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = invoke(str(tmp_path / "nope.py"), "--epochs", "3")
    assert result.exit_code == 2
    assert result.stderr == f"{tmp_path / 'nope.py'}: error: no such script\n"


def test_without_torch_one_line_and_exit_2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # find_spec then answers "not installed"
    result = invoke(str(FIXTURES / "standard_loop.py"))
    assert result.exit_code == 2
    assert (
        result.stderr == "autograd-lint: error: autograd-lint run needs torch: pip install 'autograd-lint[runtime]'\n"
    )


@pytest.mark.slow
def test_the_installed_command_end_to_end(tmp_path: Path) -> None:
    # The report goes to --output: stderr is shared with the script and with torch's own warnings.
    report = tmp_path / "report.json"
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "autograd_lint",
            "run",
            "--format",
            "json",
            "--output",
            str(report),
            str(FIXTURES / "moved_parameter.py"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 1, completed.stderr
    assert [f["code"] for f in json.loads(report.read_text(encoding="utf-8"))] == ["AGL007"]
