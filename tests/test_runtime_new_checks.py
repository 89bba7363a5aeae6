"""AGL016 clip-outside-backward-step, AGL017 clip-before-unscale, AGL103 parameter-not-optimized:
what each reports, and the sound loops each stays silent on."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from autograd_lint.runtime import watch  # noqa: E402

STEPS = 5


def batch() -> tuple[torch.Tensor, torch.Tensor]:
    return torch.randn(8, 4), torch.randn(8, 1)


def findings_of(train, on_finding: str = "collect") -> list[tuple[str, str]]:
    with watch(on_finding=on_finding) as monitor:
        train()
    return [(f.code, f.message) for f in monitor.findings]


def test_a_head_replaced_after_the_optimizer_was_built_is_named_by_its_module_path() -> None:
    def train() -> None:
        model = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 1))
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        model[1] = nn.Linear(4, 1)  # the new head's parameters are not the optimizer's
        for _ in range(STEPS):
            optimizer.zero_grad()
            x, y = batch()
            nn.functional.mse_loss(model(x), y).backward()
            optimizer.step()

    [(code, message)] = [f for f in findings_of(train) if f[0] == "AGL103"]
    assert message.startswith("model.1.bias, model.1.weight received a gradient on 3 consecutive updates")


def test_a_forgotten_param_group_is_reported_once() -> None:
    def train() -> None:
        encoder, decoder = nn.Linear(4, 4), nn.Linear(4, 1)
        optimizer = torch.optim.Adam(encoder.parameters(), lr=1e-3)  # decoder forgotten
        for _ in range(3 * STEPS):
            optimizer.zero_grad()
            x, y = batch()
            nn.functional.mse_loss(decoder(encoder(x)), y).backward()
            optimizer.step()

    assert [code for code, _ in findings_of(train)] == ["AGL103"]


def silent_loops() -> dict[str, object]:
    def frozen() -> None:
        backbone, head = nn.Linear(4, 4).requires_grad_(False), nn.Linear(4, 1)
        optimizer = torch.optim.SGD(head.parameters(), lr=0.1)
        for _ in range(STEPS):
            optimizer.zero_grad()
            x, y = batch()
            nn.functional.mse_loss(head(backbone(x)), y).backward()
            torch.nn.utils.clip_grad_norm_(head.parameters(), 1.0)
            optimizer.step()

    def evaluated() -> None:
        model, judge = nn.Linear(4, 1), nn.Linear(1, 1)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        for _ in range(STEPS):
            optimizer.zero_grad()
            x, _ = batch()
            with torch.no_grad():
                target = judge(torch.ones(8, 1))
            nn.functional.mse_loss(model(x), target).backward()
            torch.nn.utils.clip_grad_norm_(judge.parameters(), 1.0)  # nothing to clip: never trained
            optimizer.step()

    def autograd_grad() -> None:
        model = nn.Linear(4, 1)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        extra = torch.zeros(1, requires_grad=True)  # its gradient is taken by autograd.grad, not .grad
        for _ in range(STEPS):
            optimizer.zero_grad()
            x, y = batch()
            loss = nn.functional.mse_loss(model(x) + extra, y)
            grads = torch.autograd.grad(loss, [*model.parameters(), extra])
            for param, grad in zip(model.parameters(), grads, strict=False):
                param.grad = grad
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()

    def manual_sgd() -> None:
        w = torch.zeros(4, 1, requires_grad=True)
        for _ in range(STEPS):
            x, y = batch()
            nn.functional.mse_loss(x @ w, y).backward()
            torch.nn.utils.clip_grad_value_([w], 0.5)
            with torch.no_grad():
                w -= 0.1 * w.grad
            w.grad = None

    def unscale_then_clip() -> None:
        model = nn.Linear(4, 1)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        scaler = torch.amp.GradScaler("cpu")
        for _ in range(STEPS):
            optimizer.zero_grad()
            x, y = batch()
            scaler.scale(nn.functional.mse_loss(model(x), y)).backward()
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            scaler.step(optimizer)
            scaler.update()

    def adversarial_inputs() -> None:  # a fresh leaf per batch gets one gradient each: not a layer
        model = nn.Linear(4, 1)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        for _ in range(STEPS):
            x, y = batch()
            x.requires_grad_()
            optimizer.zero_grad()
            nn.functional.mse_loss(model(x), y).backward()
            optimizer.step()

    return {
        f.__name__: f for f in (frozen, evaluated, autograd_grad, manual_sgd, unscale_then_clip, adversarial_inputs)
    }


@pytest.mark.parametrize("name", list(silent_loops()))
def test_sound_loops_are_silent(name: str) -> None:
    assert findings_of(silent_loops()[name], on_finding="raise") == []


def test_clipping_cleared_gradients_before_backward_is_reported() -> None:
    def train() -> None:
        model = nn.Linear(4, 1)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        for _ in range(STEPS):
            optimizer.zero_grad()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            x, y = batch()
            nn.functional.mse_loss(model(x), y).backward()
            optimizer.step()

    assert [code for code, _ in findings_of(train)] == ["AGL016"]


def test_a_scaler_on_this_torch_has_the_per_optimizer_state_the_check_reads() -> None:
    scaler = torch.amp.GradScaler("cpu")
    assert scaler.is_enabled() and hasattr(scaler, "_per_optimizer_states")
