"""autograd_lint.runtime: watches autograd while the code runs (needs torch)."""

if __name__ != "autograd_lint.runtime":
    raise ImportError(
        "this folder is installed as 'autograd_lint.runtime'; import that instead of "
        f"'{__name__}' (run 'pip install -e .' from the repository root)"
    )

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
from .monitor import watch

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
