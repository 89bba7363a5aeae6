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


# Scripts that run, each with a `.data` update that autograd would see once fixed while a graph
# that saved the old value is still to be backpropagated: an unsafe fix must not make them raise.
UNSAFE_PROBES = {
    "update-under-no-grad-before-backward": PROBES["data-update-under-no-grad-before-backward"],
    "update-before-backward-of-older-graph": """
        import torch
        w = torch.ones(3, requires_grad=True)
        loss = (w * w).sum()
        w.data.sub_(0.5)
        loss.backward()
        print(w.grad.tolist())
        """,
    # A GAN's discriminator step between building the generator's loss and its backward.
    "helper-step-between-graph-and-backward": """
        import torch
        d = torch.ones(2, requires_grad=True)
        g = torch.ones(2, requires_grad=True)

        def d_step():
            d_loss = (d * d).sum()
            d_loss.backward()
            d.data -= 0.1 * d.grad

        for step in range(2):
            g_loss = (g * d).sum()
            d_step()
            g_loss.backward()
        print(g.grad.tolist())
        """,
    # The same graph backpropagated again next iteration.
    "retained-graph-next-iteration": """
        import torch
        w = torch.ones(3, requires_grad=True)
        loss = (w * w).sum()
        for step in range(3):
            loss.backward(retain_graph=True)
            w.data.sub_(0.1 * w.grad)
        print(w.grad.tolist())
        """,
    # A graph built before the update, first backpropagated in the next iteration.
    "graph-carried-to-next-iteration": """
        import torch
        w = torch.ones(3, requires_grad=True)
        previous = None
        for step in range(3):
            if previous is not None:
                previous.backward()
            current = (w * w).sum()
            w.data.mul_(0.9)
            previous = current
        print(w.grad.tolist())
        """,
    # A value read through `.data`, changed in place while a graph still needs it.
    "alias-changed-in-place": """
        import torch
        w = torch.ones(3, requires_grad=True)
        view = w.data
        loss = (w * w).sum()
        view.mul_(2)
        loss.backward()
        print(w.grad.tolist())
        """,
    # A clear put after the update would leave `x.grad` None for the read after the loop.
    "gradient-read-after-the-loop": """
        import torch
        x = torch.ones(3, requires_grad=True)
        for i in range(2):
            loss = (x * x).sum()
            loss.backward()
            with torch.no_grad():
                x -= 0.1 * x.grad
        print(round(x.grad.sum().item(), 4))
        """,
    # `.data =` may change a tensor's shape; `copy_` cannot.
    "data-assigned-another-shape": """
        import torch
        mask = torch.ones(3)
        mask.data = torch.zeros(5)
        print(mask.shape)
        """,
}


@pytest.mark.parametrize("name", sorted(UNSAFE_PROBES))
def test_unsafe_fixes_never_make_a_probe_raise(name):
    source = textwrap.dedent(UNSAFE_PROBES[name])
    assert run(source)[1] is None
    fixed = fix_source(source, "probe.py", unsafe=True).source
    assert run(fixed)[1] is None, fixed


def test_the_newcomers_loop_still_gets_its_update_fixed():
    # Where the file shows each backward builds its graph afresh, the update is fixed and runs.
    source = textwrap.dedent(
        """
        import torch
        x = torch.tensor([4.0], requires_grad=True)
        lr = 0.1
        for step in range(50):
            loss = (x - 1.0).pow(2).sum()
            loss.backward()
            x.data -= lr * x.grad
            x.grad.data.zero_()
        print(round(x.item(), 3))
        """
    )
    fixed = fix_source(source, "probe.py", unsafe=True).source
    assert "x -= lr * x.grad" in fixed and ".data" not in fixed
    assert run(fixed) == run(source) == ("1.0\n", None)


def test_the_probes_are_real_findings():
    # Each probe is reported: the question is only whether its safe fix keeps the outcome.
    from autograd_lint import check_source

    unreported = [name for name, source in PROBES.items() if not check_source(textwrap.dedent(source), "probe.py")]
    assert unreported == ["not-a-tensor-indexed"]  # an instance of the file's own class is not a tensor
    assert all(check_source(textwrap.dedent(source), "probe.py") for source in UNSAFE_PROBES.values())
