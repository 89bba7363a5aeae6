"""The runtime checks: codes, names, warning categories (from the catalog) and the error raised in "raise" mode."""

from __future__ import annotations

from autograd_lint.finding import Finding

from ._check_docs import (
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
from .catalog import AutogradLintWarning, Check, CheckUnavailableWarning, all_checks


class AutogradLintError(AssertionError):
    """Raised by ``watch(on_finding="raise")``; ``.finding`` holds the finding.

    An AssertionError, because in a test or script it is a failed expectation about the training code.
    """

    def __init__(self, finding: Finding) -> None:
        super().__init__(f"{finding.code} {finding.name}: {finding.message} ({finding.path}:{finding.line})")
        self.finding = finding


def _check_of(category: type) -> Check:
    return category.check  # type: ignore[attr-defined]


STALE_GRAPH = _check_of(StaleGraphWarning)
MISSING_ZERO_GRAD = _check_of(MissingZeroGradWarning)
LOSS_KEPT_WITH_GRAPH = _check_of(LossKeptWithGraphWarning)
NON_LEAF_PARAMETER = _check_of(NonLeafParameterWarning)
CLIP_OUTSIDE_BACKWARD_STEP = _check_of(ClipOutsideBackwardStepWarning)
CLIP_BEFORE_UNSCALE = _check_of(ClipBeforeUnscaleWarning)
NON_FINITE_GRADIENT = _check_of(NonFiniteGradientWarning)
UNUSED_PARAMETER = _check_of(UnusedParameterWarning)
PARAMETER_NOT_OPTIMIZED = _check_of(ParameterNotOptimizedWarning)

ALL_CHECKS: tuple[Check, ...] = all_checks()


def select_checks(keys: object) -> frozenset[Check]:
    """``None`` means all; otherwise codes (``"AGL001"``) or names (``"stale-graph"``)."""
    if keys is None:
        return frozenset(ALL_CHECKS)
    if isinstance(keys, str):
        keys = [keys]
    chosen = set()
    for key in keys:  # type: ignore[attr-defined]
        matches = [c for c in ALL_CHECKS if key in (c.code, c.name) or str(key).upper() == c.code]
        if not matches:
            known = ", ".join(f"{c.code} ({c.name})" for c in ALL_CHECKS)
            raise ValueError(f"unknown runtime check {key!r}; known: {known}")
        chosen.update(matches)
    return frozenset(chosen)


__all__ = [
    "ALL_CHECKS",
    "AutogradLintError",
    "AutogradLintWarning",
    "Check",
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
    "select_checks",
]
