"""Sampling: mistakes that start long after the monitor's first backward calls, between its sampled
windows, are still reported, at the user's line; sound loops stay silent however the windows fall."""

from __future__ import annotations

import contextlib
import runpy
import textwrap
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
from autograd_lint.runtime import checks, watch  # noqa: E402

# The mistake starts in the middle of an unsampled stretch, two windows after the warm-up; the
# loop runs on long enough for two more windows.
LATE = checks.SAMPLE_FIRST_BACKWARDS + 2 * checks.SAMPLE_EVERY + checks.SAMPLE_EVERY // 2
TOTAL = LATE + 2 * checks.SAMPLE_EVERY + checks.SAMPLE_WINDOW

SETUP = """
import torch
from torch import nn
torch.manual_seed(0)
model = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 1))
optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
x, y = torch.randn(8, 4), torch.randn(8, 1)
"""

LATE_MISTAKES = {
    "zero_grad forgotten": (
        """
        for i in range(TOTAL):
            if i < LATE:
                optimizer.zero_grad()
            nn.functional.mse_loss(model(x), y).backward()
            optimizer.step()  # <- AGL002
        """
    ),
    "loss no longer recomputed": (
        """
        line = nn.Linear(4, 1)  # one layer: its backward needs no weight autograd saved
        optimizer = torch.optim.SGD(line.parameters(), lr=1e-3)
        for i in range(TOTAL):
            optimizer.zero_grad()
            if i <= LATE:
                loss = nn.functional.mse_loss(line(x), y)
            loss.backward(retain_graph=True)  # <- AGL001
            optimizer.step()
        """
    ),
    "clip moved after the step": (
        """
        for i in range(TOTAL):
            optimizer.zero_grad()
            nn.functional.mse_loss(model(x), y).backward()
            if i < LATE:
                nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            if i >= LATE:
                nn.utils.clip_grad_norm_(model.parameters(), 1.0)  # <- AGL016
        """
    ),
    "head replaced after the optimizer was built": (
        """
        for i in range(TOTAL):
            if i == LATE:
                model[1] = nn.Linear(4, 1)
            optimizer.zero_grad()
            nn.functional.mse_loss(model(x), y).backward()
            optimizer.step()  # <- AGL103
        """
    ),
    "losses kept with their graphs": (
        """
        kept = []
        for i in range(TOTAL):
            optimizer.zero_grad()
            loss = nn.functional.mse_loss(model(x), y)
            loss.backward()  # <- AGL006
            optimizer.step()
            if i >= LATE:
                kept.append(loss)
        """
    ),
}

SOUND_LOOPS = {
    "gradients zeroed in place": """
        for i in range(TOTAL):
            optimizer.zero_grad(set_to_none=False)
            nn.functional.mse_loss(model(x), y).backward()
            optimizer.step()
        """,
    "gradient accumulation over 3 batches, zeroed in place": """
        for i in range(TOTAL):
            (nn.functional.mse_loss(model(x), y) / 3).backward()
            if i % 3 == 2:
                optimizer.step()
                optimizer.zero_grad(set_to_none=False)
        """,
    "GAN, two optimizers, three backward calls per iteration": """
        critic = nn.Linear(1, 1)
        optimizer_critic = torch.optim.Adam(critic.parameters(), lr=1e-3)
        for i in range(TOTAL // 3):
            optimizer_critic.zero_grad()
            critic(model(x).detach()).mean().backward()
            critic(y).mean().neg().backward()
            optimizer_critic.step()
            optimizer.zero_grad()
            critic(model(x)).mean().neg().backward()
            optimizer.step()
        """,
    "a fresh optimizer every iteration": """
        for i in range(TOTAL):
            optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
            optimizer.zero_grad()
            nn.functional.mse_loss(model(x), y).backward()
            optimizer.step()
        """,
}


def script(tmp_path: Path, loop: str) -> tuple[Path, dict[str, int]]:
    text = textwrap.dedent(SETUP) + f"LATE, TOTAL = {LATE}, {TOTAL}\n" + textwrap.dedent(loop)
    path = tmp_path / "train.py"
    path.write_text(text)
    marks = {line.split("# <- ")[1].strip(): n for n, line in enumerate(text.splitlines(), 1) if "# <- " in line}
    return path, marks


@pytest.mark.parametrize("loop", list(LATE_MISTAKES.values()), ids=list(LATE_MISTAKES))
def test_a_mistake_made_late_between_samples_is_reported_at_its_line(tmp_path: Path, loop: str) -> None:
    path, marks = script(tmp_path, loop)
    with watch(on_finding="collect") as monitor:
        runpy.run_path(str(path), run_name="__main__")
    assert [(f.path, f.line, f.code) for f in monitor.findings] == [
        (str(path), line, code) for code, line in marks.items()
    ]


@pytest.mark.parametrize("loop", list(SOUND_LOOPS.values()), ids=list(SOUND_LOOPS))
def test_a_long_sound_loop_stays_silent_through_every_window(tmp_path: Path, loop: str) -> None:
    path, _ = script(tmp_path, loop)
    with watch(on_finding="raise"):
        runpy.run_path(str(path), run_name="__main__")


def test_a_mistake_made_late_is_reported_by_a_monitor_reentered_per_block() -> None:
    """As a training loop that enters the watch once per epoch does; the steps outside go unseen."""
    model = torch.nn.Linear(4, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
    x, y = torch.randn(8, 4), torch.randn(8, 1)
    monitor = watch(on_finding="collect")
    for block in range(TOTAL // 50):
        forget = block * 50 >= LATE
        with monitor if block % 2 else contextlib.nullcontext():
            for _ in range(50):
                if not forget:
                    optimizer.zero_grad()
                torch.nn.functional.mse_loss(model(x), y).backward()
                optimizer.step()
    assert [f.code for f in monitor.findings] == ["AGL002"]
