"""What watching costs: training steps plain, under watch(), and under detect_anomaly(), on four nets.

For each net, blocks of steps alternate in one process, in a rotating order, so machine noise and
thermal drift hit the variants alike. Each block enters its context once and runs several steps
inside it, as a training loop does; the steps are timed inside the context. Each round's median
step time is divided by that round's plain one, and the median of those ratios is printed. The
cost of entering and leaving watch() is measured apart, also after many optimizers have come and
gone (a fresh optimizer per batch).

    python benchmarks/bench_runtime.py [--rounds 12] [--threads 1] [--device cpu] [--only small,mlp]
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import statistics
import time
import warnings
from collections.abc import Callable
from contextlib import AbstractContextManager as ContextManager
from dataclasses import dataclass

import torch
from torch import nn

from autograd_lint.runtime import watch


@dataclass
class Workload:
    title: str
    model: nn.Module
    optimizer: torch.optim.Optimizer
    batch: Callable[[], tuple[torch.Tensor, torch.Tensor]]
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    steps_per_block: int


def small(device: torch.device) -> Workload:
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 64)).to(device)
    inputs, targets = torch.randn(32, 64, device=device), torch.randn(32, 64, device=device)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    return Workload(
        "small net: 2 Linear(64), batch 32, SGD+momentum",
        model,
        optimizer,
        lambda: (inputs, targets),
        nn.functional.mse_loss,
        50,
    )


def mlp(device: torch.device) -> Workload:
    width = 1024
    model = nn.Sequential(
        nn.Linear(width, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(), nn.Linear(width, width)
    ).to(device)
    inputs, targets = torch.randn(256, width, device=device), torch.randn(256, width, device=device)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-4)
    return Workload(
        "3x1024 MLP, batch 256, SGD", model, optimizer, lambda: (inputs, targets), nn.functional.mse_loss, 5
    )


def cnn(device: torch.device) -> Workload:
    model = nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * 8 * 8, 10),
    ).to(device)
    images, labels = torch.randn(32, 3, 32, 32, device=device), torch.randint(0, 10, (32,), device=device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    return Workload(
        "small CNN, 32x32 images, batch 32, Adam",
        model,
        optimizer,
        lambda: (images, labels),
        nn.functional.cross_entropy,
        10,
    )


class LanguageModel(nn.Module):
    def __init__(self, vocab: int = 1000, size: int = 128) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, size)
        self.lstm = nn.LSTM(size, size, num_layers=2)
        self.decode = nn.Linear(size, vocab)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        output, _ = self.lstm(self.embed(tokens))
        return self.decode(output).flatten(0, 1)


def lstm(device: torch.device) -> Workload:
    model = LanguageModel().to(device)
    tokens = torch.randint(0, 1000, (35, 20), device=device)  # 35 steps of bptt, batch 20
    targets = torch.randint(0, 1000, (35 * 20,), device=device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)

    def loss(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return nn.functional.cross_entropy(output, target)

    return Workload(
        "LSTM language model: 2x128, vocab 1000, bptt 35, batch 20, SGD",
        model,
        optimizer,
        lambda: (tokens, targets),
        loss,
        5,
    )


WORKLOADS = {"small": small, "mlp": mlp, "cnn": cnn, "lstm": lstm}


def make_step(work: Workload, device: torch.device) -> Callable[[], None]:
    def step() -> None:
        inputs, targets = work.batch()
        work.optimizer.zero_grad()
        loss = work.loss(work.model(inputs), targets)
        loss.backward()
        if isinstance(work.model, LanguageModel):
            nn.utils.clip_grad_norm_(work.model.parameters(), 0.25)
        work.optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize()

    return step


def ratios(work: Workload, device: torch.device, rounds: int, warmup: int) -> dict[str, tuple[float, float]]:
    step = make_step(work, device)
    monitor = watch(on_finding="collect")  # one monitor, re-entered per block: its state carries over
    variants: dict[str, Callable[[], ContextManager]] = {
        "plain": contextlib.nullcontext,
        "watch()": lambda: monitor,
        "detect_anomaly()": lambda: torch.autograd.detect_anomaly(check_nan=True),
    }
    names = list(variants)
    times: dict[str, list[float]] = {name: [] for name in names}
    for round_number in range(warmup + rounds):
        shift = round_number % len(names)
        for name in names[shift:] + names[:shift]:
            steps = []
            with variants[name]():
                for _ in range(work.steps_per_block):
                    started = time.perf_counter()
                    step()
                    steps.append(time.perf_counter() - started)
            if round_number >= warmup:
                times[name].append(statistics.median(steps))
    assert not monitor.findings, f"the benchmark loop itself should be clean: {monitor.findings}"
    plain = times["plain"]
    return {
        name: (
            statistics.median(times[name]),
            statistics.median(t / p for t, p in zip(times[name], plain, strict=True)),
        )
        for name in names
    }


def entry_cost(optimizers_gone: int, repeats: int = 30) -> float:
    """Median seconds to enter and leave a watch() that has seen ``optimizers_gone`` optimizers come and go."""
    model = nn.Linear(8, 8)
    inputs = torch.randn(4, 8)
    monitor = watch(on_finding="collect")
    with monitor:
        for _ in range(optimizers_gone):
            optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
            optimizer.zero_grad()
            model(inputs).sum().backward()
            optimizer.step()
            del optimizer
    gc.collect()
    costs = []
    for _ in range(repeats):
        started = time.perf_counter()
        with monitor:
            pass
        costs.append(time.perf_counter() - started)
    return statistics.median(costs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="torch threads on CPU (1: least noise)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--only", default=",".join(WORKLOADS), help="comma-separated: " + ", ".join(WORKLOADS))
    args = parser.parse_args()
    device = torch.device(args.device)
    if device.type == "cpu":
        torch.set_num_threads(args.threads)
    warnings.simplefilter("ignore")  # detect_anomaly warns on every entry
    print(f"torch {torch.__version__} on {device} ({torch.get_num_threads()} threads), {args.rounds} rounds per net")
    print(f"{'net':<66} {'plain step':>11} {'watch()':>9} {'detect_anomaly()':>17}")
    for key in args.only.split(","):
        torch.manual_seed(0)
        work = WORKLOADS[key](device)
        result = ratios(work, device, args.rounds, args.warmup)
        plain_ms = result["plain"][0] * 1e3
        print(
            f"{work.title:<66} {plain_ms:>8.3f} ms {result['watch()'][1]:>8.3f}x {result['detect_anomaly()'][1]:>16.3f}x"
        )
    costs = ", ".join(f"{entry_cost(n) * 1e3:.3f} ms after {n}" for n in (0, 100, 1000))
    print(f"watch() enter+exit, with optimizers come and gone: {costs}")


if __name__ == "__main__":
    main()
