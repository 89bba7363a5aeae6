"""The decisions and messages of each runtime check; the monitor feeds them what it saw.

What each check means, with examples, is in the catalog (``_check_docs``; ``autograd-lint explain CODE``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from ._where import Place
from .categories import (
    CLIP_BEFORE_UNSCALE,
    CLIP_OUTSIDE_BACKWARD_STEP,
    LOSS_KEPT_WITH_GRAPH,
    MISSING_ZERO_GRAD,
    NON_FINITE_GRADIENT,
    NON_LEAF_PARAMETER,
    PARAMETER_NOT_OPTIMIZED,
    STALE_GRAPH,
    UNUSED_PARAMETER,
    Check,
)

Item = tuple[Check, str, Place, str]  # check, message, where, what (for "once per check, place and subject")

# Graphs may outlive their backward this many later backward calls (a GAN runs three per iteration,
# and a loop variable lives until it is rebound) before they count as kept.
KEPT_GRAPH_WINDOW = 10
KEPT_GRAPHS_TO_REPORT = 3
UNUSED_AFTER_STEPS = 100
# Reading every gradient costs about 3% of a small model's step, so after the first steps the scan
# runs on every FINITE_SCAN_EVERY-th step, and on the step after a backward from a non-finite loss.
# Once a NaN reaches the weights every later gradient carries it, so a later scan still sees it.
FINITE_SCAN_FIRST_STEPS = 16
FINITE_SCAN_EVERY = 8
# Which backward calls (and the steps, clips and .data writes after each) get the full checks: the
# first SAMPLE_FIRST_BACKWARDS, then SAMPLE_WINDOW in a row out of every SAMPLE_EVERY. The mistakes
# those checks find (a stale graph, a missing zero_grad, a moved leaf, a kept graph, a clip after the
# step, a leaf no optimizer holds) are made by the loop's code, so they recur on every iteration and
# a window of several iterations sees them, at the same line. The monitor module's docstring says more.
SAMPLE_FIRST_BACKWARDS = 64
SAMPLE_EVERY = 256
SAMPLE_WINDOW = 12
# A fresh input that requires grad (an adversarial example) gets one gradient and is gone; a
# forgotten layer gets one on every update.
NOT_OPTIMIZED_AFTER_UPDATES = 3


def _listing(names: Sequence[str]) -> str:
    if len(names) == 1:
        return names[0]
    shown = ", ".join(names[:3])
    return shown + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def _they(names: Sequence[str]) -> tuple[str, str]:
    return ("it", "holds") if len(names) == 1 else ("they", "hold")


def stale_graph(names: Sequence[str], how: str, place: Place) -> Item:
    verb = "was" if len(names) == 1 else "were"
    message = (
        f"backward runs through a graph built before {_listing(names)} {verb} updated ({how}); "
        "its gradients are those of the old values. Recompute the forward pass (the loss) after every update."
    )
    return (STALE_GRAPH, message, place, "")


def missing_zero_grad_at_backward(names: Sequence[str], place: Place) -> Item:
    they, hold = _they(names)
    message = (
        f"backward adds into {_listing([n + '.grad' for n in names])}: {they} still {hold} the gradient from "
        "before the last update, so each update uses the sum of all past gradients. Clear gradients after "
        "every update (`x.grad = None`, or optimizer.zero_grad())."
    )
    return (MISSING_ZERO_GRAD, message, place, "")


def missing_zero_grad_at_step(optimizer: str, names: Sequence[str], place: Place) -> Item:
    they, hold = _they(names)
    message = (
        f"{optimizer}.step() uses {_listing([n + '.grad' for n in names])}: {they} still {hold} gradients "
        "from before the previous step. Call optimizer.zero_grad() once per step, before backward."
    )
    return (MISSING_ZERO_GRAD, message, place, "")


def loss_kept_with_graph(count: int, backward_place: Place, place: Place) -> Item:
    message = (
        f"{count} graphs from earlier backward calls at {backward_place.seen_from(place)} are still alive "
        f"{KEPT_GRAPH_WINDOW} or more backward calls later: something keeps each iteration's loss or "
        "output with its graph (`losses.append(loss)`, `total += loss`). Keep `loss.item()` or `loss.detach()` instead."
    )
    return (LOSS_KEPT_WITH_GRAPH, message, backward_place, "")


def non_leaf_parameter(name: str, grad_fn_name: str, place: Place) -> Item:
    message = (
        f"{name} requires grad but is not a leaf: it was made by {grad_fn_name} (a move or cast of a "
        f"requires_grad tensor), so {name}.grad stays None and no optimizer may hold it. Create it where "
        "it belongs (`torch.randn(..., device=device, requires_grad=True)`) or call `.requires_grad_()` after moving it."
    )
    return (NON_LEAF_PARAMETER, message, place, name)


def non_finite_gradient(optimizer: str, names: Sequence[str], place: Place) -> Item:
    message = (
        f"{optimizer}.step() is about to use a gradient with NaN or infinite values in {_listing(names)}. "
        "Run the next step under `torch.autograd.set_detect_anomaly(True)` to find the operation that made it."
    )
    return (NON_FINITE_GRADIENT, message, place, "")


def unused_parameter(optimizer: str, names: Sequence[str], steps: int, place: Place) -> Item:
    step_word = "step" if steps == 1 else "steps"
    they, _ = _they(names)
    takes = "takes" if they == "it" else "take"
    message = (
        f"{_listing(names)} (held by {optimizer}) never received a gradient in {steps} {step_word}: "
        f"{they} {takes} no part in the loss (an unused layer, a detached branch?). Leave "
        f"{'it' if they == 'it' else 'them'} out of the optimizer, or set requires_grad=False."
    )
    return (UNUSED_PARAMETER, message, place, "")


def parameter_not_optimized(names: Sequence[str], updates: int, place: Place) -> Item:
    they, _ = _they(names)
    receive, it = ("received", "it") if they == "it" else ("received", "them")
    message = (
        f"{_listing(names)} {receive} a gradient on {updates} consecutive updates, but no optimizer holds "
        f"{it}, so {they} never change{'s' if they == 'it' else ''} (a layer kept in a plain list instead of "
        "nn.ModuleList? a layer replaced after the optimizer was built? a forgotten param group?). "
        f"Hand {it} to the optimizer, or set requires_grad=False."
    )
    return (PARAMETER_NOT_OPTIMIZED, message, place, ",".join(names))


def clip_outside_backward_step(place: Place) -> Item:
    message = (
        "clipping gradients that no backward produced since the last update (all None, or unchanged since "
        "step()): the clip changes nothing the next update uses. Clip between loss.backward() and optimizer.step()."
    )
    return (CLIP_OUTSIDE_BACKWARD_STEP, message, place, "")


def clip_before_unscale(optimizer: str, place: Place) -> Item:
    message = (
        f"clipping gradients of {optimizer}'s parameters while they are still multiplied by the GradScaler's "
        f"scale: call scaler.unscale_(optimizer) before clipping, then scaler.step(optimizer)."
    )
    return (CLIP_BEFORE_UNSCALE, message, place, "")


def nonfinite_indices(grads: Sequence[torch.Tensor]) -> list[int]:
    """Indices of the gradients holding a NaN or inf, with one host sync per accelerator.

    A sum is non-finite when any term is, and costs one pass (isfinite().all() costs several and
    allocates a mask); a sum that overflows is checked again element by element.
    """
    by_device: dict[torch.device, list[int]] = {}
    for index, grad in enumerate(grads):
        by_device.setdefault(grad.device, []).append(index)
    bad: list[int] = []
    for device, indices in by_device.items():
        if device.type == "cpu":  # no device to wait for: a read per sum costs less than stacking them
            bad.extend(
                i
                for i in indices
                if not math.isfinite(grads[i].sum(dtype=torch.float32).item())
                and not bool(torch.isfinite(grads[i]).all())
            )
            continue
        sums = torch.stack([grads[i].sum(dtype=torch.float32) for i in indices])
        if bool(torch.isfinite(sums).all()):
            continue
        bad.extend(
            i
            for i, total in zip(indices, sums.tolist(), strict=False)
            if not math.isfinite(total) and not bool(torch.isfinite(grads[i]).all())
        )
    return sorted(bad)


def held_elsewhere(leaf: torch.Tensor, namespaces: list[dict]) -> bool:
    for scope in namespaces:
        for value in scope.values():
            if value is leaf:
                return True
            if isinstance(value, torch.nn.Module) and any(p is leaf for p in value.parameters()):
                return True
    return False
