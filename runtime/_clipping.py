"""The checks made when gradients are clipped: nothing fresh to clip (AGL016), still scaled (AGL017)."""

from __future__ import annotations

import weakref
from typing import Any

from . import _support, checks
from ._base import MonitorBase
from ._where import place_of, user_frame
from .categories import CLIP_BEFORE_UNSCALE, CLIP_OUTSIDE_BACKWARD_STEP

try:  # private: the scaler's record of where each optimizer is in its iteration
    from torch.amp.grad_scaler import OptState as _OptState

    _UNSCALED_OR_STEPPED: tuple[Any, ...] = (_OptState.UNSCALED, _OptState.STEPPED)
except (ImportError, AttributeError):
    _UNSCALED_OR_STEPPED = ()


class ClipChecks(MonitorBase):
    def _on_scaler_step(self, scaler: Any, optimizer: Any) -> None:
        self._scaled[id(optimizer)] = (weakref.ref(scaler), weakref.ref(optimizer))

    def _before_clip(self, parameters: list[Any]) -> None:
        if not self._live or (
            CLIP_OUTSIDE_BACKWARD_STEP not in self._checks and CLIP_BEFORE_UNSCALE not in self._checks
        ):
            return
        self._flush_pending()
        trained, fresh = False, False
        for param in parameters:
            if not getattr(param, "requires_grad", False):
                continue
            state = self._leaves.peek(param)
            if state is None or state.grad_ref is None:
                continue  # no backward under the monitor filled it: a first iteration, an evaluated model
            trained = True
            self._sync_version(param, state)
            grad = param.grad
            if grad is not None and (state.grad_ref() is not grad or state.grad_epoch == state.epoch()):
                fresh = True  # from a backward since the last update, or set by the user's own code
                break
        if not trained:
            return
        place = place_of(user_frame())
        if not fresh:
            self._deliver([checks.clip_outside_backward_step(place)])
        elif CLIP_BEFORE_UNSCALE in self._checks:
            self._deliver(self._still_scaled_items(parameters, place))

    def _still_scaled_items(self, parameters: list[Any], place: Any) -> list[checks.Item]:
        clipped = {id(p) for p in parameters}
        items = []
        for scaler_ref, optimizer_ref in list(self._scaled.values()):
            scaler, optimizer = scaler_ref(), optimizer_ref()
            if scaler is None or optimizer is None or not scaler.is_enabled():
                continue
            states = getattr(scaler, "_per_optimizer_states", None)
            if states is None or not _UNSCALED_OR_STEPPED:
                _support.say_once(CLIP_BEFORE_UNSCALE, "GradScaler._per_optimizer_states or OptState", 4)
                continue
            if not any(id(p) in clipped for group in optimizer.param_groups for p in group["params"]):
                continue
            stage = states[id(optimizer)]["stage"] if id(optimizer) in states else None
            if stage not in _UNSCALED_OR_STEPPED:
                items.append(checks.clip_before_unscale(type(optimizer).__name__, place))
        return items
