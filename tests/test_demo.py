"""``autograd-lint demo``: the broken descent is caught, the corrected one follows the closed form."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

torch = pytest.importorskip("torch")
from autograd_lint.runtime import demo  # noqa: E402
from autograd_lint.runtime_cli import demo as demo_command  # noqa: E402

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
TARGET = torch.tensor(demo.TARGET)


def closed_form_error(lr: float, k: int, seed: int = 0) -> torch.Tensor:
    """error_k = error_0 * (1 - 2 lr / 5) ** k: the gradient of mean((x - t)**2) over 5 entries is 2 (x - t) / 5."""
    return (demo.starting_point(seed) - TARGET) * (1 - 2 * lr / 5) ** k


@pytest.mark.parametrize("lr", demo.LEARNING_RATES)
def test_the_corrected_descent_follows_the_closed_form(lr: float) -> None:
    distances, x = demo.descent(lr, 300, torch.device("cpu"), seed=0)
    torch.testing.assert_close(x - TARGET, closed_form_error(lr, 300), rtol=1e-4, atol=1e-6)
    for k in (0, 1, 10, 100, 300):
        expected = float(closed_form_error(lr, k).pow(2).mean())
        assert distances[k] == pytest.approx(expected, rel=1e-4, abs=1e-9)


def test_a_thousand_steps_at_lr_001_come_within_01_of_the_target() -> None:
    _, x = demo.descent(0.01, 1000, torch.device("cpu"), seed=0)
    assert (x - TARGET).abs().max() < 0.1
    assert (x - TARGET).abs().max() > 0.01  # and no closer: the factor is 0.996 per step


def test_the_broken_descent_is_caught_at_its_backward_line_and_diverges() -> None:
    history, findings = demo.broken_descent(0.01, demo.BROKEN_ITERATIONS, seed=0)
    source = Path(demo.__file__).read_text().splitlines()
    backward_line = next(n for n, line in enumerate(source, 1) if "distance.backward(retain_graph=True)" in line)
    assert sorted((f.code, f.path, f.line) for f in findings) == [
        ("AGL001", demo.__file__, backward_line),
        ("AGL002", demo.__file__, backward_line),
    ]
    # The k-th step moves k times the first gradient: error_k = error_0 (1 - lr * 0.4 * k (k + 1) / 2).
    k = len(history)
    expected = float(((demo.starting_point(0) - TARGET) * (1 - 0.01 * 0.4 * k * (k + 1) / 2)).pow(2).mean())
    assert history[-1] == pytest.approx(expected, rel=1e-4)
    assert history[-1] > 10 * history[0]


def test_the_command_prints_both_runs_and_the_iteration_table() -> None:
    result = CliRunner().invoke(demo_command, ["--device", "cpu", "--iterations", "400"], catch_exceptions=False)
    assert result.exit_code == 0
    out = result.stdout
    assert "AGL001 stale-graph" in out and "AGL002 missing-zero-grad" in out
    assert "2. Corrected on cpu" in out
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.strip().startswith(("0.01 ", "0.1 "))}
    distances, _ = demo.descent(0.1, 400, torch.device("cpu"), seed=0)
    assert rows["0.1"][1:5] == [str(demo.iterations_below(distances, t)) for t in demo.THRESHOLDS]
    assert rows["0.01"][4] == ">400"


def test_plot_writes_a_png(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    target = tmp_path / "descent.png"
    result = CliRunner().invoke(demo_command, ["--device", "cpu", "--iterations", "50", "--plot", str(target)])
    assert result.exit_code == 0, result.output
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_without_matplotlib_is_one_line_and_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    result = CliRunner().invoke(demo_command, ["--plot", str(tmp_path / "d.png")])
    assert result.exit_code == 2
    assert result.stderr == "autograd-lint: error: --plot needs matplotlib: pip install 'autograd-lint[plot]'\n"


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_asking_for_cuda_without_it_is_one_line_and_exit_2() -> None:
    result = CliRunner().invoke(demo_command, ["--device", "cuda"])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "--device cuda: this torch sees no CUDA device" in result.stderr


def test_auto_says_which_device_it_used() -> None:
    result = CliRunner().invoke(demo_command, ["--iterations", "10"])
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert f"2. Corrected on {expected}" in result.stdout


@pytest.mark.cuda
@needs_cuda
@pytest.mark.parametrize("lr", demo.LEARNING_RATES)
def test_the_corrected_descent_on_cuda_follows_the_closed_form(lr: float) -> None:
    distances, x = demo.descent(lr, 1000, torch.device("cuda"), seed=0)
    torch.testing.assert_close(x - TARGET, closed_form_error(lr, 1000), rtol=1e-3, atol=1e-5)
    cpu_distances, _ = demo.descent(lr, 1000, torch.device("cpu"), seed=0)
    assert distances[:100] == pytest.approx(cpu_distances[:100], rel=1e-4, abs=1e-9)


@pytest.mark.cuda
@needs_cuda
def test_the_command_on_cuda() -> None:
    result = CliRunner().invoke(demo_command, ["--device", "cuda"], catch_exceptions=False)
    assert result.exit_code == 0
    assert "2. Corrected on cuda" in result.stdout and torch.cuda.get_device_name() in result.stdout
