"""What the Jupyter extension costs per cell: the static check of one cell against a long session.

    python benchmarks/bench_notebook.py [--cells 300] [--repeat 30]

Builds a session of CELLS cells as a notebook grows (imports, data, a model class, optimizers,
training loops, evaluation, plots, prints, magics; names reused across experiments, as people
do), then checks a new training-loop cell against it REPEAT times, its summary recomputed each
time, and prints the median. Target: at most 50 ms for 300 cells. For comparison it also times
the check of the whole session as one module, what a checker without the history slicing pays.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from autograd_lint.engine import check_source
from autograd_lint.ipython_syntax import mask_cell
from autograd_lint.session import SessionChecker

TARGET_MS = 50.0

IMPORTS = """\
%matplotlib inline
import math
import torch
import torch.nn as nn
import torch.nn.functional as F
import matplotlib.pyplot as plt
"""

TEMPLATES = [
    """\
# experiment {k}: data
torch.manual_seed({k})
inputs_{k} = torch.randn(256, 10)
targets_{k} = (inputs_{k} @ torch.linspace(-1, 1, 10)).unsqueeze(1)
loader_{k} = [(inputs_{k}[i : i + 32], targets_{k}[i : i + 32]) for i in range(0, 256, 32)]
""",
    """\
class Net{k}(nn.Module):
    def __init__(self, hidden={h}):
        super().__init__()
        self.fc1 = nn.Linear(10, hidden)
        self.fc2 = nn.Linear(hidden, 1)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))
""",
    """\
model = Net{k}()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-{lr})
criterion = nn.MSELoss()
losses = []
""",
    """\
for epoch in range({epochs}):
    for batch, target in loader_{k}:
        optimizer.zero_grad()
        loss = criterion(model(batch), target)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
""",
    """\
with torch.no_grad():
    predictions = model(inputs_{k})
    error_{k} = criterion(predictions, targets_{k}).item()
print(f"experiment {k}: {{error_{k}:.4f}}")
""",
    """\
plt.figure(figsize=(6, 3))
plt.plot(losses)
plt.title("experiment {k}")
plt.yscale("log")
plt.show()
""",
    "losses[-5:]\n",
    """\
def accuracy_{k}(net, data):
    with torch.no_grad():
        return sum(((net(x) - y).abs() < 0.1).float().mean().item() for x, y in data) / len(data)

accuracy_{k}(model, loader_{k})
""",
    "%timeit model(inputs_{k})\n",
    "!nvidia-smi --query-gpu=name --format=csv\nmodel?\n",
    """\
weights_{k} = {{name: p.detach().clone() for name, p in model.named_parameters()}}
norms_{k} = {{name: w.norm().item() for name, w in weights_{k}.items()}}
sorted(norms_{k}.items(), key=lambda item: -item[1])[:3]
""",
    """\
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=10, gamma=0.5)
for epoch in range(3):
    optimizer.zero_grad(set_to_none=True)
    loss = F.mse_loss(model(inputs_{k}), targets_{k})
    loss.backward()
    optimizer.step()
    scheduler.step()
""",
]

# The cell being run: the question's mistake, on names the session has bound many times over.
NEW_CELL = """\
loss = criterion(model(inputs_7), targets_7)
for step in range(100):
    loss.backward(retain_graph=True)
    optimizer.step()
    losses.append(loss.item())
"""


def session(cells: int) -> list[str]:
    history = [IMPORTS]
    k = 0
    while len(history) < cells:
        for template in TEMPLATES:
            history.append(template.format(k=k, h=16 + k % 48, lr=2 + k % 3, epochs=5 + k % 7))
            if len(history) == cells:
                break
        k += 1
    return history


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=30)
    options = parser.parse_args(argv)

    history = session(options.cells)
    checker = SessionChecker()
    for cell in history:
        checker.add(cell)
    found = checker.check(NEW_CELL)
    times, cpu_times = [], []
    for _ in range(options.repeat):
        checker._summaries.pop(NEW_CELL, None)  # the new cell is summarised on every run, as a new cell is
        start, cpu_start = time.perf_counter(), time.process_time()
        checker.check(NEW_CELL)
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu_start)
    median_ms = statistics.median(times) * 1000
    # On a shared machine the wall time counts other processes' turns; the CPU time does not.
    cpu_ms = statistics.median(cpu_times) * 1000

    whole = "".join(m.text + "\n" for m in map(mask_cell, [*history, NEW_CELL]) if m is not None)
    start = time.perf_counter()
    check_source(whole, "<session>")
    whole_ms = (time.perf_counter() - start) * 1000

    lines = sum(cell.count("\n") for cell in history)
    print(f"session: {len(history)} cells, {lines} lines; the new cell: {NEW_CELL.count(chr(10))} lines")
    print(f"findings in the new cell: {', '.join(sorted({f.code for f in found})) or 'none'}")
    print(
        f"static check of the new cell: median {median_ms:.1f} ms wall, {cpu_ms:.1f} ms CPU, "
        f"over {options.repeat} runs (target {TARGET_MS:.0f} ms)"
    )
    print(f"the whole session as one module, once: {whole_ms:.0f} ms")
    return 0 if median_ms <= TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
