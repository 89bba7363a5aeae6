"""``autograd-lint demo``: the newcomer's gradient descent, broken under ``watch``, then fixed.

The broken form builds the loss once and updates through ``.data`` without clearing the
gradient: every backward returns the first graph's gradient, and ``.grad`` sums them, so the
k-th step moves by k times the first gradient and ``x`` flies past the target. The fixed form
rebuilds the loss, updates under ``torch.no_grad()`` and clears ``x.grad``: the error then
shrinks by ``1 - 2 * lr / 5`` per step (the gradient of the mean of 5 squares is ``2 (x - t) / 5``),
so the distance, the mean squared error, by that factor squared.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import torch

from autograd_lint.finding import Finding

from .monitor import watch

TARGET = (1.0, 2.0, 3.0, 4.0, 5.0)
LEARNING_RATES = (0.01, 0.1)
THRESHOLDS = (1.0, 0.1, 0.01, 0.001)
BROKEN_ITERATIONS = 60  # long enough to overshoot: the k-th step moves k times the first one


class DeviceUnavailable(Exception):
    pass


def pick_device(choice: str) -> torch.device:
    if choice == "cpu" or (choice == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise DeviceUnavailable("--device cuda: this torch sees no CUDA device (try --device auto)")
    return torch.device("cuda")


def starting_point(seed: int) -> torch.Tensor:
    return torch.rand(5, generator=torch.Generator().manual_seed(seed))


def broken_descent(lr: float, iterations: int, seed: int) -> tuple[list[float], list[Finding]]:
    """The newcomer's loop, watched; returns the true distance after each update, and the findings."""
    with watch(on_finding="collect") as monitor:
        x = starting_point(seed).requires_grad_()
        target = torch.tensor(TARGET)
        distance = torch.mean((x - target) ** 2)
        history = []
        for _ in range(iterations):
            distance.backward(retain_graph=True)
            x.data.sub_(lr * x.grad.data)  # type: ignore[union-attr]
            history.append(torch.mean((x.detach() - target) ** 2).item())
    return history, list(monitor.findings)


def descent(lr: float, iterations: int, device: torch.device, seed: int) -> tuple[list[float], torch.Tensor]:
    """The corrected loop; returns the distance before each update and after the last, and the final ``x``."""
    x = starting_point(seed).to(device).requires_grad_()
    target = torch.tensor(TARGET, device=device)
    # Kept on the device and read once at the end: a .item() per step would wait on the GPU every step.
    distances = torch.empty(iterations + 1, device=device)
    for k in range(iterations):
        distance = torch.mean((x - target) ** 2)
        distances[k] = distance.detach()
        distance.backward()
        with torch.no_grad():
            x -= lr * x.grad  # type: ignore[operator]
        x.grad = None
    distances[iterations] = torch.mean((x.detach() - target) ** 2)
    return distances.tolist(), x.detach().cpu()


def iterations_below(distances: list[float], threshold: float) -> int | None:
    return next((k for k, d in enumerate(distances) if d < threshold), None)


@dataclass
class DemoReport:
    device: torch.device
    iterations: int
    broken_lr: float
    broken_history: list[float]
    findings: list[Finding]
    runs: dict[float, tuple[list[float], torch.Tensor]] = field(default_factory=dict)

    def text(self) -> str:
        lines = [
            f"1. The newcomer's descent (lr {self.broken_lr}): the loss built once, updates through .data,",
            "   gradients never cleared; run under autograd_lint.runtime.watch, which reports:",
        ]
        for finding in self.findings:
            where = f"{os.path.basename(finding.path)}:{finding.line}"
            lines.append(f"   {where}: {finding.code} {finding.name}: {finding.message}")
        shown = ", ".join(
            f"{k}: {self.broken_history[k - 1]:.3g}" for k in (1, *range(10, len(self.broken_history) + 1, 10))
        )
        lines += [
            "   distance to the target after k updates (it falls, overshoots, then grows):",
            f"   {shown}",
            "",
            f"2. Corrected on {self.device} ({_device_words(self.device)}): the loss rebuilt every iteration,",
            "   the update under torch.no_grad(), x.grad cleared.",
            "   iterations until the distance falls below:",
            "   " + f"{'lr':>6}" + "".join(f"{t:>9g}" for t in THRESHOLDS) + "   final x",
        ]
        for lr, (distances, x) in self.runs.items():
            counts = [iterations_below(distances, t) for t in THRESHOLDS]
            cells = "".join(f"{c if c is not None else '>' + str(self.iterations):>9}" for c in counts)
            final = ", ".join(f"{v:.4f}" for v in x.tolist())
            lines.append(f"   {lr:>6g}{cells}   [{final}]")
        lines.append(f"   target x: [{', '.join(f'{t:g}' for t in TARGET)}]; the error shrinks by 1 - 2*lr/5 per step.")
        return "\n".join(lines)


def _device_words(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return "no CUDA device used" if torch.cuda.is_available() else "no CUDA device available"


def run_demo(device: torch.device, iterations: int = 1000, seed: int = 0) -> DemoReport:
    history, findings = broken_descent(LEARNING_RATES[0], BROKEN_ITERATIONS, seed)
    report = DemoReport(device, iterations, LEARNING_RATES[0], history, findings)
    for lr in LEARNING_RATES:
        report.runs[lr] = descent(lr, iterations, device, seed)
    return report


def plot(report: DemoReport, path: str) -> None:
    """Two panels: the broken run diverging (linear iterations), the corrected ones converging (log
    iterations, down to float32's floor), each on its own scale so neither squashes the other."""
    import matplotlib

    matplotlib.use("Agg")  # a file, never a window
    import matplotlib.pyplot as plt

    figure, (broken, fixed) = plt.subplots(1, 2, figsize=(11, 4.4), dpi=160)
    steps = range(1, len(report.broken_history) + 1)
    broken.plot(steps, report.broken_history, "o-", color="tab:red", markersize=3, linewidth=1.5)
    broken.set_yscale("log")
    broken.set_xlabel("iteration")
    broken.set_ylabel("distance to the target (mean squared error)")
    broken.set_title(f"Broken: loss built once, grads never cleared (lr {report.broken_lr:g})", fontsize=10)
    turn = min(range(len(report.broken_history)), key=report.broken_history.__getitem__)
    broken.annotate(
        "overshoots: the k-th step\nmoves k times the first one",
        xy=(turn + 1, report.broken_history[turn]),
        xytext=(0.45, 0.1),
        textcoords="axes fraction",
        arrowprops={"arrowstyle": "->", "color": "0.3"},
        fontsize=9,
    )
    broken.text(
        0.03, 0.95, "watch() reports AGL001 stale-graph and\nAGL002 missing-zero-grad at the first backward",
        transform=broken.transAxes, va="top", fontsize=9, color="tab:red",
    )  # fmt: skip
    for lr, (distances, _) in report.runs.items():
        fixed.plot(range(1, len(distances)), distances[1:], linewidth=1.8, label=f"lr {lr:g}")
    # float32 stops the descent where a step, 2 lr/5 of the error, is below half a unit in the last
    # place of x: the fastest run's last value shows where.
    fastest = report.runs[max(report.runs)][0]
    floor = fastest[-1]
    fixed.axhline(floor, color="0.4", linestyle="--", linewidth=1)
    fixed.text(
        1.1, floor * 4, "float32 floor: a step below half an ulp of x no longer moves it",
        fontsize=8.5, color="0.3",
    )  # fmt: skip
    fixed.set_xscale("log")
    fixed.set_yscale("log")
    fixed.set_xlabel("iteration (log scale)")
    fixed.set_title(f"Corrected: loss rebuilt, update under no_grad, grad cleared ({report.device})", fontsize=10)
    fixed.legend(title="corrected descent", fontsize=9, loc="center left")
    for axes in (broken, fixed):
        axes.grid(True, which="major", alpha=0.3)
    figure.suptitle("The newcomer's gradient descent towards x = [1, 2, 3, 4, 5]", fontsize=12)
    figure.tight_layout()
    try:
        figure.savefig(path, dpi=160)
    finally:
        plt.close(figure)
