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

Checks (codes shared with the static rules mean the same mistake):

========  ======================  ===========================================================
AGL001    stale-graph             backward through a graph built before a leaf was updated
                                  (optimizer step, fused ones too; ``.data``; in place under
                                  ``no_grad``)
AGL002    missing-zero-grad       an update uses a ``.grad`` still holding gradients from
                                  before the previous update
AGL006    loss-kept-with-graph    graphs of earlier backward calls kept alive
                                  (``losses.append(loss)``, ``total += loss``)
AGL007    non-leaf-parameter      a requires_grad tensor moved or cast, so its ``.grad`` stays None
AGL101    non-finite-gradient     runtime only: a step is about to use a NaN or inf gradient
                                  (every step at first, then every 8th and the step after a
                                  non-finite loss: a NaN in the weights stays there)
AGL102    unused-parameter        runtime only: an optimizer's parameter never gets a gradient
                                  (reported after 100 steps or when the watch ends)
========  ======================  ===========================================================

Everything patched or hooked (``Tensor.data``, ``torch.autograd.backward`` and ``grad``, global
optimizer step hooks, a TorchFunctionMode in strict mode) is restored on exit, also on an
exception. Only weak references are kept. Limits: one thread builds the graphs (sequence numbers
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
    LossKeptWithGraphWarning,
    MissingZeroGradWarning,
    NonFiniteGradientWarning,
    NonLeafParameterWarning,
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
    "LossKeptWithGraphWarning",
    "MissingZeroGradWarning",
    "NonFiniteGradientWarning",
    "NonLeafParameterWarning",
    "StaleGraphWarning",
    "UnusedParameterWarning",
    "watch",
]
