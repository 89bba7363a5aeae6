"""Safe fixes keep what a program computes: each probe runs with real torch before and after the
safe fixes, and the printed output and the exception (if any) must be the same.

Each probe is a shape where an earlier safe fix changed behaviour (issue 12's study)."""

from __future__ import annotations

import contextlib
import io
import textwrap

import pytest

from autograd_lint.fixer import fix_source

torch = pytest.importorskip("torch")


def run(source: str) -> tuple[str, str | None]:
    """Execute ``source`` in a fresh namespace with a fixed seed: what it printed, and the name
    of the exception it ended with (``None`` when it ran to the end)."""
    torch.manual_seed(0)
    printed = io.StringIO()
    error = None
    with contextlib.redirect_stdout(printed):
        try:
            exec(compile(source, "<probe>", "exec"), {"__name__": "__main__"})
        except Exception as exception:  # noqa: BLE001 - the probe's own outcome is what is compared
            error = type(exception).__name__
    return printed.getvalue(), error


PROBES = {
    # `Variable(h)` cuts the graph; plain `h` would not.
    "variable-of-a-non-leaf": """
        import torch
        from torch.autograd import Variable
        w = torch.ones(2, requires_grad=True)
        h = w * 2
        frozen = Variable(h)
        print(frozen.requires_grad, frozen.grad_fn is None)
        """,
    # `Variable(t)` is a new tensor: making it require grad leaves `t` alone.
    "variable-then-requires-grad": """
        import torch
        from torch.autograd import Variable
        t = torch.ones(3)
        v = Variable(t)
        v.requires_grad_()
        print(t.requires_grad, v.requires_grad)
        """,
    # `.data[0]` of a per-element loss is its first element; `.item()` would raise.
    "per-element-loss-indexed": """
        import torch
        import torch.nn.functional as F
        pred, target = torch.randn(4, requires_grad=True), torch.zeros(4)
        losses = F.mse_loss(pred, target, reduction="none")
        print(round(float(losses.data[0]), 4))
        """,
    # With `create_graph=True` the gradient has a graph; `w.grad.norm()` would record one.
    "grad-norm-after-create-graph": """
        import torch
        w = torch.ones(3, requires_grad=True)
        loss = (w ** 3).sum()
        loss.backward(create_graph=True)
        norm = w.grad.data.norm()
        print(norm.requires_grad, round(norm.item(), 4))
        """,
    # Under no_grad, `w.mul_()` instead of `w.data.mul_()` makes the later backward raise.
    "data-update-under-no-grad-before-backward": """
        import torch
        w = torch.ones(3, requires_grad=True)
        loss = (w * w).sum()
        with torch.no_grad():
            w.data.mul_(0.5)
        loss.backward()
        print(w.grad.tolist())
        """,
    # `.data[0]` on something that is not a tensor at all.
    "not-a-tensor-indexed": """
        import torch
        class Meter:
            def __init__(self):
                self.data = [0.25, 0.5]
        epoch_loss = Meter()
        print(epoch_loss.data[0])
        """,
}


@pytest.mark.parametrize("name", sorted(PROBES))
def test_safe_fixes_keep_what_the_probe_computes(name):
    source = textwrap.dedent(PROBES[name])
    fixed = fix_source(source, "probe.py").source
    assert run(fixed) == run(source)


def test_a_backpropagated_scalar_indexed_with_zero_reads_its_value():
    # `loss.data[0]` was PyTorch 0.3's `loss.item()`; on a 0-dim tensor it now raises. The safe fix
    # restores what the line meant, and only where `backward()` proves the loss a scalar.
    source = textwrap.dedent(
        """
        import torch
        w = torch.ones(3, requires_grad=True)
        loss = (w * 2).sum()
        loss.backward()
        print(loss.data[0])
        """
    )
    fixed = fix_source(source, "probe.py").source
    assert "print(loss.item())" in fixed
    assert run(source) == ("", "IndexError")
    assert run(fixed) == ("6.0\n", None)


def test_the_probes_are_real_findings():
    # Each probe is reported: the question is only whether its safe fix keeps the outcome.
    from autograd_lint import check_source

    unreported = [name for name, source in PROBES.items() if not check_source(textwrap.dedent(source), "probe.py")]
    assert unreported == ["not-a-tensor-indexed"]  # an instance of the file's own class is not a tensor
