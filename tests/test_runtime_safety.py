"""The monitor never changes what runs: what reaches torch, what it leaves patched, what it keeps."""

from __future__ import annotations

import gc
import tracemalloc
import warnings

import pytest

torch = pytest.importorskip("torch")
import torch.optim.optimizer as optimizer_module  # noqa: E402

from autograd_lint.runtime import AutogradLintWarning, watch  # noqa: E402


def torch_state() -> tuple:
    return (
        torch.Tensor.__dict__.get("data"),
        torch.autograd.backward,
        torch.autograd.grad,
        torch.nn.utils.clip_grad_norm_,
        torch.nn.utils.clip_grad_value_,
        dict(optimizer_module._global_optimizer_pre_hooks),
        dict(optimizer_module._global_optimizer_post_hooks),
        torch._C._is_torch_function_mode_enabled(),
    )


def stale_newcomer_loop() -> None:
    x = torch.rand(3, requires_grad=True)
    distance = (x - 1).pow(2).mean()
    for _ in range(3):
        distance.backward(retain_graph=True)
        x.data.sub_(0.1 * x.grad)


def test_a_generator_of_losses_reaches_backward_intact() -> None:
    weights = torch.ones(3, requires_grad=True)
    losses = [(weights * k).sum() for k in (1.0, 2.0)]
    with watch(on_finding="raise"):
        torch.autograd.backward(loss for loss in losses)
    assert weights.grad.tolist() == [3.0, 3.0, 3.0]


def test_a_generator_of_outputs_reaches_autograd_grad_intact() -> None:
    weights = torch.ones(3, requires_grad=True)
    outputs = [(weights * k).sum() for k in (1.0, 2.0)]
    with watch(on_finding="raise"):
        (grad,) = torch.autograd.grad((out for out in outputs), [weights])
    assert grad.tolist() == [3.0, 3.0, 3.0]


def test_a_generator_of_parameters_reaches_clipping_intact() -> None:
    model = torch.nn.Linear(2, 1)
    model(torch.ones(1, 2)).sum().backward()
    with watch(on_finding="raise"):
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1e-3)
    assert norm > 1e-3
    assert torch.cat([p.grad.flatten() for p in model.parameters()]).norm() == pytest.approx(1e-3, rel=1e-3)


def test_torch_func_transforms_run_as_without_the_monitor() -> None:
    from torch.func import grad, vmap

    def loss(x: torch.Tensor) -> torch.Tensor:
        return (x * x).sum()

    batch = torch.randn(4, 3)
    expected = vmap(grad(loss))(batch)
    with watch(on_finding="raise"):
        assert torch.equal(vmap(grad(loss))(batch), expected)
        assert torch.equal(grad(loss)(batch), 2 * batch)


def test_nested_watches_closed_out_of_order_leave_torch_unpatched_and_the_closed_one_silent() -> None:
    before = torch_state()
    outer, inner = watch(on_finding="collect"), watch(on_finding="collect")
    outer.__enter__()
    inner.__enter__()
    outer.__exit__(None, None, None)
    stale_newcomer_loop()
    assert {f.code for f in inner.findings} == {"AGL001", "AGL002"}
    assert outer.findings == []  # closed: it sees nothing more
    inner.__exit__(None, None, None)
    assert torch_state() == before


def test_watches_in_two_generators_finished_in_either_order() -> None:
    before = torch_state()

    def watched(monitor: watch):
        with monitor:
            yield

    first, second = watch(on_finding="collect"), watch(on_finding="collect")
    one, two = watched(first), watched(second)
    next(one)
    next(two)
    one.close()
    stale_newcomer_loop()
    two.close()
    assert torch_state() == before
    assert first.findings == [] and {f.code for f in second.findings} == {"AGL001", "AGL002"}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        stale_newcomer_loop()
    assert not [w for w in caught if issubclass(w.category, AutogradLintWarning)]


def train_with_a_fresh_optimizer_per_batch(model: torch.nn.Module, batches: int) -> None:
    inputs = torch.randn(4, 8)
    for _ in range(batches):
        optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
        optimizer.zero_grad()
        model(inputs).pow(2).mean().backward()
        optimizer.step()


def test_records_of_dead_optimizers_are_dropped() -> None:
    model = torch.nn.Linear(8, 8)
    with watch(on_finding="raise"):
        train_with_a_fresh_optimizer_per_batch(model, 50)
        gc.collect()
        tracemalloc.start()
        start = tracemalloc.get_traced_memory()[0]
        train_with_a_fresh_optimizer_per_batch(model, 500)
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - start
        tracemalloc.stop()
    assert grown < 64 * 1024, f"{grown} bytes kept for 500 optimizers that are gone"


def test_unused_parameters_of_an_optimizer_gone_before_the_end_are_still_reported() -> None:
    def train() -> None:
        model = torch.nn.ModuleDict({"used": torch.nn.Linear(2, 1), "spare": torch.nn.Linear(2, 1)})
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        for _ in range(3):
            optimizer.zero_grad()
            model["used"](torch.ones(4, 2)).sum().backward()
            optimizer.step()

    with watch(on_finding="collect") as monitor:
        train()
        gc.collect()
    assert [f.code for f in monitor.findings] == ["AGL102"]
    assert "model.spare.weight" in monitor.findings[0].message


def test_a_check_whose_private_api_is_missing_says_so_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from autograd_lint.runtime import _graph, _support

    monkeypatch.setattr(_graph, "HAS_SEQUENCE_NR", False)
    monkeypatch.setattr(_graph, "_peek", None)
    monkeypatch.setattr(_support, "_said", set())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with watch():
            stale_newcomer_loop()
        with watch():
            pass
    unavailable = [str(w.message) for w in caught if "cannot run" in str(w.message)]
    assert len(unavailable) == 1
    assert unavailable[0].startswith("AGL001 stale-graph cannot run on this torch")
    assert "_sequence_nr" in unavailable[0]
