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


def run_installed(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "autograd_lint", "run", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=180, cwd=cwd)


FORGETS_ZERO_GRAD = """
import torch


def train():
    model = torch.nn.Linear(3, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(3):
        model(torch.randn(4, 3)).pow(2).mean().backward()
        optimizer.step()
"""


@pytest.mark.slow
@pytest.mark.parametrize("start_method", ["fork", "spawn"])
def test_a_multiprocessing_child_is_watched_and_named(tmp_path: Path, start_method: str) -> None:
    path = script(
        tmp_path,
        FORGETS_ZERO_GRAD
        + """
if __name__ == "__main__":
    import multiprocessing
    child = multiprocessing.get_context(__import__("sys").argv[1]).Process(target=train, name="trainer")
    child.start()
    child.join()
""",
    )
    report = tmp_path / "report.json"
    completed = run_installed("--format", "json", "-o", str(report), path, start_method)
    assert completed.returncode == 1, completed.stderr
    [finding] = json.loads(report.read_text(encoding="utf-8"))
    assert (finding["path"], finding["line"], finding["code"]) == (path, 10, "AGL002")
    assert finding["message"].endswith("before backward. (trainer)")


@pytest.mark.slow
def test_the_report_comes_even_when_the_script_ends_with_os_exit(tmp_path: Path) -> None:
    path = script(tmp_path, FORGETS_ZERO_GRAD + "\ntrain()\nimport os\nos._exit(0)\n")
    completed = run_installed(path)
    assert completed.returncode == 1  # os._exit(0) is a success: the findings decide, as with sys.exit(0)
    assert f"{path}:10:9: AGL002 [missing-zero-grad]" in completed.stderr
    assert completed.stderr.rstrip().endswith("Found 1 problem.")


@pytest.mark.slow
def test_os_exit_with_a_failure_status_keeps_it_and_the_report_still_comes(tmp_path: Path) -> None:
    path = script(tmp_path, FORGETS_ZERO_GRAD + "\ntrain()\nimport os\nos._exit(5)\n")
    completed = run_installed(path)
    assert completed.returncode == 5
    assert "AGL002" in completed.stderr


def test_a_report_file_that_cannot_be_written_is_refused_before_the_script_runs(tmp_path: Path) -> None:
    ran = tmp_path / "ran"
    path = script(tmp_path, f"open({str(ran)!r}, 'w').close()\n")
    result = invoke("-o", str(tmp_path / "missing" / "r.json"), path)
    assert result.exit_code == 2
    assert result.stderr == (
        f"{tmp_path / 'missing' / 'r.json'}: error: cannot write the report: no such directory {tmp_path / 'missing'}\n"
    )
    assert not ran.exists()


def test_a_report_file_that_is_a_directory_is_refused(tmp_path: Path) -> None:
    result = invoke("-o", str(tmp_path), str(FIXTURES / "standard_loop.py"))
    assert result.exit_code == 2
    assert result.stderr == f"{tmp_path}: error: cannot write the report: it is a directory\n"


def package(tmp_path: Path, name: str, main: str) -> None:
    (tmp_path / name).mkdir()
    (tmp_path / name / "__init__.py").write_text("")
    (tmp_path / name / "train.py").write_text(textwrap.dedent(main))


def test_dash_m_runs_a_module_as_python_dash_m_does(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package(
        tmp_path,
        "dash_m_argv",
        """
        import sys
        if __name__ == "__main__":
            print(sys.argv[1:], sys.path[0])
        """,
    )
    monkeypatch.chdir(tmp_path)
    # What follows the module is its own, options too, as with python -m.
    result = invoke("-m", "dash_m_argv.train", "--format", "json", "-o", "x")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"['--format', 'json', '-o', 'x'] {tmp_path}\n"


def test_dash_m_reports_the_modules_findings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package(tmp_path, "dash_m_findings", FORGETS_ZERO_GRAD + "\nif __name__ == '__main__':\n    train()\n")
    monkeypatch.chdir(tmp_path)
    result = invoke("--format", "github", "-m", "dash_m_findings.train")
    assert result.exit_code == 1
    assert "AGL002" in result.stderr and "dash_m_findings/train.py,line=10" in result.stderr


@pytest.mark.parametrize(
    ("module", "message"),
    [
        ("no_such_module_here", "no such module"),
        ("no_such_package_here.train", "no such module"),
        ("json", "is a package without a __main__ module"),
    ],
)
def test_dash_m_of_a_module_that_cannot_run_is_one_line_and_exit_2(module: str, message: str) -> None:
    result = invoke("-m", module, "--epochs", "3")
    assert result.exit_code == 2
    assert result.stderr == f"{module}: error: {message}\n"


def test_without_a_script_or_module_it_is_a_usage_error() -> None:
    result = invoke()
    assert result.exit_code == 2
    assert "missing SCRIPT (or -m MODULE)" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_a_missing_script_from_the_installed_command_is_one_line(tmp_path: Path) -> None:
    completed = run_installed(str(tmp_path / "nope.py"))
    assert (completed.returncode, completed.stderr) == (2, f"{tmp_path / 'nope.py'}: error: no such script\n")
    completed = run_installed("-m", "no_such_module_here")
    assert (completed.returncode, completed.stderr) == (2, "no_such_module_here: error: no such module\n")


@pytest.mark.slow
def test_run_imports_no_libcst() -> None:
    # A run with a finding, so that the text report (source lines and all) is rendered too.
    completed = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "autograd_lint", "run", str(FIXTURES / "forgot_zero_grad.py")],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert completed.returncode == 1 and "AGL002" in completed.stderr
    libcst = [line for line in completed.stderr.splitlines() if line.startswith("import time:") and "libcst" in line]
    assert libcst == []
