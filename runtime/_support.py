"""Which checks this torch can run: each needs private APIs, feature-detected, and a missing one is said once."""

from __future__ import annotations

import warnings
from collections.abc import Iterable

import torch

from . import _graph, _patches
from .catalog import Check, CheckUnavailableWarning
from .categories import (
    LOSS_KEPT_WITH_GRAPH,
    MISSING_ZERO_GRAD,
    NON_FINITE_GRADIENT,
    PARAMETER_NOT_OPTIMIZED,
    STALE_GRAPH,
    UNUSED_PARAMETER,
)

_said: set[tuple[str, str]] = set()


def missing_apis(checks: Iterable[Check]) -> list[tuple[Check, str]]:
    """(check, what is missing) for each chosen check this torch cannot run."""
    missing: list[tuple[Check, str]] = []
    for check in checks:
        if check is STALE_GRAPH and not _graph.can_order_nodes():
            missing.append((check, "torch.autograd.graph.Node._sequence_nr or torch._C._autograd._get_sequence_nr"))
        elif check is LOSS_KEPT_WITH_GRAPH and not _graph.HAS_METADATA:
            missing.append((check, "torch.autograd.graph.Node.metadata"))
        elif (
            check in (MISSING_ZERO_GRAD, NON_FINITE_GRADIENT, UNUSED_PARAMETER, PARAMETER_NOT_OPTIMIZED)
            and not _patches.HAS_OPTIMIZER_HOOKS
        ):
            missing.append((check, "torch.optim.optimizer.register_optimizer_step_pre_hook"))
    return missing


def say_once(check: Check, missing: str, stacklevel: int) -> None:
    if (check.code, missing) in _said:
        return
    _said.add((check.code, missing))
    warnings.warn(
        f"{check.code} {check.name} cannot run on this torch ({torch.__version__}): {missing} is missing; "
        "the check is skipped",
        CheckUnavailableWarning,
        stacklevel=stacklevel + 1,
    )
