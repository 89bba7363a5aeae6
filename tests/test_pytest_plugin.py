"""The pytest plugin, through pytester: --autograd-lint, the marker and the fixture."""

from __future__ import annotations

import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")
pytest_plugins = ["pytester"]


def _import_what_a_training_step_imports() -> None:
    """pytester's in-process runs drop the modules a run imported; torch cannot import some twice
    (the optimizer's first step pulls in torch._inductor.test_operators), so import them first."""
    parameter = torch.zeros(1, requires_grad=True)
    parameter.sum().backward()
    torch.optim.SGD([parameter], lr=0.1).step()


_import_what_a_training_step_imports()

TESTS = """
import pytest
import torch


def newcomer():
    x = torch.rand(5, requires_grad=True)
    distance = torch.mean((x - 1) ** 2)
    for _ in range(3):
        distance.backward(retain_graph=True)
        x.data.sub_(0.1 * x.grad)


def standard_loop():
    model = torch.nn.Linear(3, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(3):
        optimizer.zero_grad()
        model(torch.randn(4, 3)).pow(2).mean().backward()
        optimizer.step()


def test_broken():
    newcomer()


def test_clean():
    standard_loop()


@pytest.mark.autograd_lint
def test_broken_marked():
    newcomer()


@pytest.mark.autograd_lint(checks=["AGL002"])
def test_broken_marked_for_one_check():
    newcomer()


def test_broken_with_fixture(autograd_lint_watch):
    newcomer()


def test_clean_with_fixture(autograd_lint_watch):
    standard_loop()
    assert autograd_lint_watch.findings == []
"""


def outcomes(result: pytest.RunResult) -> dict[str, str]:
    found = {}
    for line in result.outlines:
        for word in ("PASSED", "FAILED"):
            if f" {word}" in line and "::" in line:
                found[line.split("::")[1].split()[0]] = word
    return found


def test_marker_and_fixture_watch_single_tests(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_training=TESTS)
    result = pytester.runpytest_inprocess("-v", "-W", "ignore::UserWarning")
    assert outcomes(result) == {
        "test_broken": "PASSED",
        "test_clean": "PASSED",
        "test_broken_marked": "FAILED",
        "test_broken_marked_for_one_check": "FAILED",
        "test_broken_with_fixture": "FAILED",
        "test_clean_with_fixture": "PASSED",
    }
    result.stdout.fnmatch_lines(["*AutogradLintError: AGL001 stale-graph: backward runs through*"])
    result.stdout.fnmatch_lines(["*AutogradLintError: AGL002 missing-zero-grad: backward adds into x.grad*"])


def test_the_option_watches_every_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_training=TESTS)
    result = pytester.runpytest_inprocess("-v", "--autograd-lint")
    assert outcomes(result) == {
        "test_broken": "FAILED",
        "test_clean": "PASSED",
        "test_broken_marked": "FAILED",
        "test_broken_marked_for_one_check": "FAILED",
        "test_broken_with_fixture": "FAILED",
        "test_clean_with_fixture": "PASSED",
    }


def test_the_option_and_marker_are_documented(pytester: pytest.Pytester) -> None:
    pytester.runpytest_inprocess("--help").stdout.fnmatch_lines(
        ["autograd-lint:", "  --autograd-lint*run every test under", "*autograd_lint.runtime.watch(on_finding='raise')"]
    )
    pytester.runpytest_inprocess("--markers").stdout.fnmatch_lines(["@pytest.mark.autograd_lint(**watch_kwargs):*"])


@pytest.mark.slow
def test_loading_the_plugin_does_not_import_torch() -> None:
    code = "import sys, autograd_lint.runtime.pytest_plugin; print('torch' in sys.modules)"
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert completed.stdout == "False\n", completed.stderr


def test_a_failure_by_a_finding_reads_like_one(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # the short summary is cut to the terminal's width
    path = pytester.makepyfile(test_training=TESTS)
    line = path.read_text().splitlines().index("        distance.backward(retain_graph=True)") + 1
    result = pytester.runpytest_inprocess("-rA", "-W", "ignore::UserWarning", "-k", "marked")
    result.stdout.fnmatch_lines(
        [
            "*short test summary info*",
            f"FAILED test_training.py::test_broken_marked - AGL001 at test_training.py:{line}: stale-graph: backward*",
            f"FAILED test_training.py::test_broken_marked_for_one_check - AGL002 at test_training.py:{line}: "
            "missing-zero-grad: backward adds into x.grad*",
        ]
    )
    # The traceback ends at the user's backward call: neither torch's frames nor the monitor's.
    result.stdout.fnmatch_lines([">*distance.backward(retain_graph=True)", "E *AutogradLintError: AGL001*"])
    result.stdout.no_fnmatch_line("*monitor.py*")
    result.stdout.no_fnmatch_line("*torch/_tensor.py*")
    result.stdout.no_fnmatch_line("*pytest_plugin.py*")


def test_tb_line_names_the_users_line(pytester: pytest.Pytester) -> None:
    path = pytester.makepyfile(test_training=TESTS)
    line = path.read_text().splitlines().index("        distance.backward(retain_graph=True)") + 1
    result = pytester.runpytest_inprocess("--tb=line", "-W", "ignore::UserWarning", "-k", "test_broken_marked_for")
    result.stdout.fnmatch_lines([f"{path}:{line}: AGL002 at test_training.py:{line}: missing-zero-grad: *"])
