"""autograd_lint.runtime: watches autograd while the code runs (needs torch).

Static analysis cannot see which graph a backward runs through, or whether ``.grad`` still holds
a gradient from before the last update; at run time both are visible::

    from autograd_lint.runtime import watch

    with watch():                       # warnings, one category per check, at your lines
        train()

    with watch(on_finding="raise"):     # AutogradLintError: for tests and scripts
        train()

    @watch(on_finding="collect")        # only records; see .findings
    def train(): ...

    with watch(model, x):               # strict: every torch call on model's parameters and x
        train()                         # is recorded, so even a first backward is checked

``watch(model=net)`` only lends ``net``'s names to its parameters. ``checks=["AGL001", ...]``
(codes or names) picks checks. ``autograd-lint run script.py`` runs a script under ``watch``;
``pytest --autograd-lint``, ``@pytest.mark.autograd_lint`` and the ``autograd_lint_watch`` fixture
do it in tests.

Checks (codes shared with the static rules mean the same mistake; ``autograd-lint explain CODE``
prints each one's docs; the list is generated from ``catalog.py`` by
``python -m autograd_lint.runtime.tables``):

.. runtime-checks:start

- AGL001 ``stale-graph`` (also static): Reports a backward (or `torch.autograd.grad`) whose graph uses a leaf in a node built before that leaf's last update: an optimizer step (fused ones too), a write through `.data`, or an in-place change under `no_grad`.
- AGL002 ``missing-zero-grad`` (also static): Reports an optimizer step whose `.grad` still holds gradients from before the previous step, and a backward into the `.grad` of a hand-updated tensor that still holds the gradient from before its last update.
- AGL006 ``loss-kept-with-graph`` (also static): Reports when three or more graphs from one backward line are still alive ten or more backward calls later.
- AGL007 ``non-leaf-parameter`` (also static): Reports a variable, or a plain tensor attribute of a module the training code holds, that is a moved or cast copy (`.to(device)`, `.double()`) of a `requires_grad` tensor nobody else keeps.
- AGL016 ``clip-outside-backward-step`` (also static): Reports `torch.nn.utils.clip_grad_norm_` or `clip_grad_value_` called on parameters whose gradients are all None, or all unchanged since the last `step()`: clipping after the step, or before backward on cleared gradients.
- AGL017 ``clip-before-unscale`` (also static): Reports a clip of the parameters of an optimizer whose enabled `GradScaler` has not unscaled it in this iteration (`scaler.unscale_(optimizer)` not yet called).
- AGL101 ``non-finite-gradient``: Scans the gradients an optimizer step is about to use for NaN or inf: every step at first, then every 8th and the step after a non-finite loss (a NaN in the weights stays there, so a later scan still sees it).
- AGL102 ``unused-parameter``: Reports the parameters of an optimizer that no step saw with a gradient: after 100 steps, when the optimizer is gone, or when the watch ends.
- AGL103 ``parameter-not-optimized``: Reports, once, a leaf that requires grad and receives a gradient on several consecutive optimizer updates while none of the stepping optimizers holds it, named by its module path.

.. runtime-checks:end

Everything patched or hooked (``Tensor.data``, ``torch.autograd.backward`` and ``grad``, the two
``torch.nn.utils.clip_grad_*_`` functions, ``GradScaler.step``, global optimizer step hooks, a
TorchFunctionMode in strict mode) is installed once for all active watches and restored when the
last one exits, whatever the order, also on an exception; under ``torch.func`` transforms it steps
aside. Only weak references are kept; records of optimizers that are gone are dropped. A check
whose private torch API is missing says so once (``CheckUnavailableWarning``) and is skipped. Limits: one thread builds the graphs (sequence numbers
are per thread); without strict mode an in-place update under ``no_grad`` made before the first
backward the monitor sees cannot be placed, and is not reported; ``from torch.autograd import
backward`` bound before the watch starts is not seen.
"""

if __name__ != "autograd_lint.runtime":
    raise ImportError(
        "this folder is installed as 'autograd_lint.runtime'; import that instead of "
        f"'{__name__}' (run 'pip install -e .' from the repository root)"
    )

# The warning categories need no torch; ``watch`` does, and is imported on first use, so that the
# pytest plugin (a submodule, loaded in every pytest run) does not pull torch in.
from .categories import (
    ALL_CHECKS,
    AutogradLintError,
    AutogradLintWarning,
    CheckUnavailableWarning,
    ClipBeforeUnscaleWarning,
    ClipOutsideBackwardStepWarning,
    LossKeptWithGraphWarning,
    MissingZeroGradWarning,
    NonFiniteGradientWarning,
    NonLeafParameterWarning,
    ParameterNotOptimizedWarning,
    StaleGraphWarning,
    UnusedParameterWarning,
)


def __getattr__(name: str) -> object:
    if name == "watch":
        from .monitor import watch

        return watch
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ALL_CHECKS",
    "AutogradLintError",
    "AutogradLintWarning",
    "CheckUnavailableWarning",
    "ClipBeforeUnscaleWarning",
    "ClipOutsideBackwardStepWarning",
    "LossKeptWithGraphWarning",
    "MissingZeroGradWarning",
    "NonFiniteGradientWarning",
    "NonLeafParameterWarning",
    "ParameterNotOptimizedWarning",
    "StaleGraphWarning",
    "UnusedParameterWarning",
    "watch",
]
