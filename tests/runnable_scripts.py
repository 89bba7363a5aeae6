"""Runnable training scripts for the fix-behaviour tests: a prelude that defines every name the
loop bodies use, and loops drawn from the statements people write, right and wrong.

Each script runs in a second or less on the CPU (four iterations, a 5-input linear model), so a
test can execute it before and after a fix and compare what happened.
"""

from __future__ import annotations

import contextlib
import io
import random
import warnings
from dataclasses import dataclass

import torch

PRELUDE = """\
import torch
from torch.autograd import Variable
torch.manual_seed(0)
model = torch.nn.Linear(5, 1)
opt = torch.optim.SGD(model.parameters(), lr=0.01)
crit = torch.nn.MSELoss()
loader = [(torch.randn(4, 5), torch.randn(4, 1)) for _ in range(3)]
w = torch.zeros(5, requires_grad=True)
x = Variable(torch.rand(5), requires_grad=True)
target = torch.ones(5)
distance = torch.mean((x - target) ** 2)
kept = (w * w).sum()
view = w.data
total = 0.0
losses = []
"""
HEADERS = ["for i in range(4):", "for i, (xb, yb) in enumerate(loader):", "step = 0\nwhile step < 4:"]
LOSSES = [
    "loss = crit(model(loader[i % 3][0]), loader[i % 3][1]) + ((x - target) ** 2).mean()",
    "loss = (w * w).sum() + ((x - target) ** 2).mean()",
    "loss = torch.mean(torch.pow(x - target, 2))",
    None,  # no loss of its own: backpropagates the prelude's `distance`
]
BACKWARDS = [
    "loss.backward()",
    "loss.backward(retain_graph=True)",
    "(loss / 2).backward()",
    "distance.backward(retain_graph=True)",
]
UPDATES = [
    "x.data.sub_(0.01 * x.grad.data)",
    "x.data -= 0.01 * x.grad",
    "with torch.no_grad():\n    x -= 0.01 * x.grad",
    "opt.step()",
    "x = x - 0.01 * x.grad",
    "w.data.mul_(0.9)",
    "w.data = w.data.clamp(-1, 1)",
    "with torch.no_grad():\n    w.data.mul_(0.9)",
]
EXTRAS = [
    "opt.zero_grad()",
    "x.grad.zero_()",
    "x.grad = None",
    "total += loss",
    "total = total + loss",
    "losses.append(loss)",
    "print(round(float(loss), 4))",
    "print(x.grad is None)",
    "if i % 2 == 0:\n    opt.step()",
    # A graph that saved `w`, built before an update of `w` and backpropagated after it.
    "kept = (w * w).sum()",
    "kept.backward(retain_graph=True)",
    "view.mul_(0.5)",
]


def generate(rng: random.Random) -> str:
    """A prelude and one or two loops: a loss, a backward, updates and extras, mostly in the
    order people write them, sometimes shuffled (the rotated loops rules look for)."""
    lines = PRELUDE.splitlines()
    for _ in range(rng.randint(1, 2)):
        header = rng.choice(HEADERS)
        lines.extend(header.splitlines())
        body: list[str] = []
        loss = rng.choice(LOSSES)
        if loss is not None:
            body.append(loss)
        body.append(rng.choice(BACKWARDS) if loss is not None else "distance.backward(retain_graph=True)")
        body.extend(rng.sample(UPDATES, rng.randint(0, 2)))
        body.extend(rng.sample(EXTRAS, rng.randint(0, 3)))
        if rng.random() < 0.3:
            rng.shuffle(body)
        if header.startswith("step"):
            body.append("step += 1")
        if "i, (xb" not in header and "range" not in header:
            body = [b.replace("i % ", "step % ") for b in body]
        for statement in body:
            lines.extend("    " + part for part in statement.splitlines())
    lines.append("print([round(v, 4) for v in x.detach().flatten().tolist()])")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Run:
    output: str
    error: str | None  # the exception's type name, or None

    @property
    def ran(self) -> bool:
        return self.error is None


def execute(source: str) -> Run:
    """Run ``source`` as a script in a fresh namespace; what it printed and what it raised."""
    out = io.StringIO()
    namespace: dict[str, object] = {"__name__": "__main__"}
    torch.manual_seed(0)
    try:
        with contextlib.redirect_stdout(out), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            exec(compile(source, "<script>", "exec"), namespace)
    except Exception as error:  # the point: any exception the script raises
        return Run(out.getvalue(), type(error).__name__)
    return Run(out.getvalue(), None)
