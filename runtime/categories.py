"""The runtime checks: their codes, names, warning categories and the error raised in "raise" mode."""

from __future__ import annotations

from dataclasses import dataclass

from autograd_lint.finding import Finding


class AutogradLintWarning(UserWarning):
    """Base of every warning the runtime monitor issues; filter on it to silence them all."""


class StaleGraphWarning(AutogradLintWarning):
    """AGL001: backward ran through a graph built before one of its leaves was updated."""


class MissingZeroGradWarning(AutogradLintWarning):
    """AGL002: an update used a gradient still holding contributions from before the previous update."""


class LossKeptWithGraphWarning(AutogradLintWarning):
    """AGL006: graphs of earlier iterations are kept alive."""


class NonLeafParameterWarning(AutogradLintWarning):
    """AGL007: a tensor meant as a parameter is not a leaf, so its ``.grad`` never fills."""


class NonFiniteGradientWarning(AutogradLintWarning):
    """AGL101: an optimizer step is about to use a NaN or infinite gradient."""


class UnusedParameterWarning(AutogradLintWarning):
    """AGL102: an optimizer holds a parameter that never receives a gradient."""


class AutogradLintError(AssertionError):
    """Raised by ``watch(on_finding="raise")``; ``.finding`` holds the finding.

    An AssertionError, because in a test or script it is a failed expectation about the training code.
    """

    def __init__(self, finding: Finding) -> None:
        super().__init__(f"{finding.code} {finding.name}: {finding.message} ({finding.path}:{finding.line})")
        self.finding = finding


@dataclass(frozen=True)
class Check:
    code: str
    name: str
    category: type[AutogradLintWarning]


STALE_GRAPH = Check("AGL001", "stale-graph", StaleGraphWarning)
MISSING_ZERO_GRAD = Check("AGL002", "missing-zero-grad", MissingZeroGradWarning)
LOSS_KEPT_WITH_GRAPH = Check("AGL006", "loss-kept-with-graph", LossKeptWithGraphWarning)
NON_LEAF_PARAMETER = Check("AGL007", "non-leaf-parameter", NonLeafParameterWarning)
NON_FINITE_GRADIENT = Check("AGL101", "non-finite-gradient", NonFiniteGradientWarning)
UNUSED_PARAMETER = Check("AGL102", "unused-parameter", UnusedParameterWarning)

ALL_CHECKS: tuple[Check, ...] = (
    STALE_GRAPH,
    MISSING_ZERO_GRAD,
    LOSS_KEPT_WITH_GRAPH,
    NON_LEAF_PARAMETER,
    NON_FINITE_GRADIENT,
    UNUSED_PARAMETER,
)


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
