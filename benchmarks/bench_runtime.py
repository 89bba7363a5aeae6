"""What watching costs: one training step plain, under watch(), strict watch(model), and detect_anomaly().

The variants alternate in one process, in a rotating order, so machine noise and thermal drift
hit them all alike. In each round every variant enters its context once and runs a few steps,
as a training loop does (it enters once and steps many times); the steps are timed inside the
context, and the cost of entering and leaving is printed apart. Each round's median step time
is divided by that round's plain one, and the median of those ratios is printed.

    python benchmarks/bench_runtime.py [--rounds 40] [--steps 5] [--width 1024] [--batch 256] [--device cpu]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time
import warnings
from collections.abc import Callable
from contextlib import AbstractContextManager as ContextManager

import torch
from autograd_lint.runtime import watch


def make_step(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    device: torch.device,
) -> Callable[[], None]:
    def step() -> None:
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(inputs), targets)
        loss.backward()
        optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize()

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--steps", type=int, default=5, help="steps per entry into the context")
    parser.add_argument("--width", type=int, default=1024)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    torch.manual_seed(0)
    width = args.width
    model = torch.nn.Sequential(
        torch.nn.Linear(width, width),
        torch.nn.ReLU(),
        torch.nn.Linear(width, width),
        torch.nn.ReLU(),
        torch.nn.Linear(width, width),
    ).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-4)
    inputs = torch.randn(args.batch, width, device=device)
    targets = torch.randn(args.batch, width, device=device)
    step = make_step(model, optimizer, inputs, targets, device)

    # One monitor per variant, re-entered every step, so its state carries over as in a long loop.
    monitor, strict = watch(on_finding="collect"), watch(model, on_finding="collect")
    no_finite = watch(on_finding="collect", checks=["AGL001", "AGL002", "AGL006", "AGL007", "AGL102"])
    variants: dict[str, Callable[[], ContextManager]] = {
        "plain": contextlib.nullcontext,
        "watch()": lambda: monitor,
        "watch(model)": lambda: strict,
        "watch(no AGL101)": lambda: no_finite,
        "detect_anomaly()": lambda: torch.autograd.detect_anomaly(check_nan=True),
    }
    names = list(variants)
    times: dict[str, list[float]] = {name: [] for name in names}
    entries: dict[str, list[float]] = {name: [] for name in names}
    warnings.simplefilter("ignore")  # detect_anomaly warns on every entry
    for round_number in range(args.warmup + args.rounds):
        shift = round_number % len(names)
        for name in names[shift:] + names[:shift]:
            steps = []
            entered = time.perf_counter()
            with variants[name]():
                for _ in range(args.steps):
                    started = time.perf_counter()
                    step()
                    steps.append(time.perf_counter() - started)
            around = time.perf_counter() - entered - sum(steps)
            if round_number >= args.warmup:
                times[name].append(statistics.median(steps))
                entries[name].append(around)

    print(
        f"3-layer MLP, width {width}, batch {args.batch}, SGD, on {device} "
        f"({torch.get_num_threads()} threads, torch {torch.__version__}), "
        f"{args.rounds} rounds of {args.steps} steps per variant"
    )
    plain = times["plain"]
    for name in names:
        ratios = [t / p for t, p in zip(times[name], plain, strict=False)]
        print(
            f"  {name:<17} median step {statistics.median(times[name]) * 1e3:8.2f} ms"
            f"   median ratio to plain {statistics.median(ratios):.3f}x"
            f"   enter+exit {statistics.median(entries[name]) * 1e3:6.2f} ms"
        )
    assert not monitor.findings and not strict.findings, "the benchmark loop itself should be clean"


if __name__ == "__main__":
    main()
