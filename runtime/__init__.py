"""autograd_lint.runtime: watches autograd while the code runs (needs torch)."""

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
