"""The checks made at each optimizer step: stale gradients (AGL002), non-finite ones (AGL101), unused
parameters (AGL102) and gradients no optimizer uses (AGL103)."""

from __future__ import annotations

import functools
import gc
import weakref
from typing import Any

import torch

from . import _graph, checks
from ._base import MonitorBase
from ._state import OptimizerRecord
from ._where import describe, parameter_names, place_of, user_frame
from .categories import NON_FINITE_GRADIENT, PARAMETER_NOT_OPTIMIZED


class StepChecks(MonitorBase):
    def _record(self, optimizer: torch.optim.Optimizer, frame: Any) -> OptimizerRecord:
        key = id(optimizer)
        record = self._optimizers.get(key)
        if record is None or record.ref() is not optimizer:
            ref = weakref.ref(optimizer, functools.partial(_optimizer_gone, weakref.ref(self), key))
            record = self._optimizers[key] = OptimizerRecord(ref, type(optimizer).__name__, place_of(frame))
            # Name the parameters now, while the training code's frame still holds its modules:
            # later findings (AGL102 at the end of the script) come from frames that do not.
            for name, param in parameter_names(frame).values():
                if self._names.get(param) is None:
                    self._names.set(param, name)
        signature = _signature(optimizer)
        if signature != record.signature:
            record.signature = signature
            params = [p for group in optimizer.param_groups for p in group["params"]]
            record.params = [(p, self._state(p)) for p in params]
            record.param_ids = frozenset(id(p) for p in params)
            if not record.steps:
                record.never_grad = {id(p): p for p in params if p.requires_grad}
            self._owned = frozenset().union(*(r.param_ids for r in self._optimizers.values()))
        return record

    def _before_step(self, optimizer: torch.optim.Optimizer, args: tuple, kwargs: dict) -> None:
        if self._pending:
            self._flush_pending()
        items = self._orphan_items() if self._orphans else []
        if self._deferred_finite:
            items += self._deferred_finite_items(wait=False)
        record = self._optimizers.get(id(optimizer))
        live = self._live
        frame = place = None
        if record is None or record.ref() is not optimizer or (live and record.signature != _signature(optimizer)):
            frame = user_frame()
            record = self._record(optimizer, frame)
        scan = NON_FINITE_GRADIENT in self._checks and (
            record.steps < checks.FINITE_SCAN_FIRST_STEPS
            or (record.steps + 1) % checks.FINITE_SCAN_EVERY == 0
            or self._nonfinite_loss
        )
        if not live:
            # Unsampled: only the scan for non-finite gradients, on its own schedule.
            record.steps += 1
            if scan:
                frame = frame or user_frame()
                if record.signature != _signature(optimizer):
                    record = self._record(optimizer, frame)
                grads, owners = [], []
                for param, _ in record.params:
                    grad = param.grad
                    if grad is not None and param.requires_grad and grad.layout == torch.strided:
                        grads.append(grad)
                        owners.append(param)
                items += self._scan_items(grads, owners, record.kind, kwargs, frame)
            if items:
                self._deliver(items)
            return
        record.steps += 1
        if frame is None:
            frame = user_frame()
        place = place_of(frame)
        # A closure (LBFGS) clears and recomputes the gradients inside the step itself.
        has_closure = (len(args) > 1 and args[1] is not None) or kwargs.get("closure") is not None
        stale, grads, owners, with_grad = [], [], [], []
        for param, state in record.params:
            grad = param.grad
            if grad is None or not param.requires_grad:
                if not state.stepped and param.requires_grad:
                    state.stepped, state.grad_since = True, state.steps
                continue
            if not state.stepped:
                state.stepped, state.grad_since = True, state.steps
            if param._version != state.seen_version:
                self._sync_version(param, state)
            with_grad.append((param, state))
            # The common case first: a gradient tensor no backward under the monitor has filled
            # before the last step (zero_grad set it to None) needs no further look.
            ref = state.grad_ref
            if not has_closure and ref is not None and ref() is grad and self._grad_since(param, state) < state.steps:
                stale.append(param)
            if scan and grad.layout == torch.strided:
                grads.append(grad)
                owners.append(param)
        self._step_starts[id(optimizer)] = (
            _graph.next_sequence_nr(),
            place,
            record.kind,
            [] if has_closure else with_grad,
        )
        if stale:
            items.append(checks.missing_zero_grad_at_step(record.kind, [self._name(p, frame) for p in stale], place))
        if scan:
            items += self._scan_items(grads, owners, record.kind, kwargs, frame, place)
        if items:
            self._deliver(items)

    def _scan_items(
        self, grads: list[Any], owners: list[Any], kind: str, kwargs: dict, frame: Any, place: Any = None
    ) -> list[checks.Item]:
        """AGL101 on the gradients a step is about to use."""
        # GradScaler hands fused optimizers its inf check and lets them skip the step themselves.
        if not grads or "found_inf" in kwargs:
            return []
        self._nonfinite_loss = False
        items = self._deferred_finite_items(wait=True)
        if all(g.device.type == "cpu" for g in grads):
            bad = [owners[i] for i in checks.nonfinite_indices(grads)]
            if bad:
                place = place or place_of(frame)
                items.append(checks.non_finite_gradient(kind, [self._name(p, frame) for p in bad], place))
        else:
            self._defer_finite(grads, owners, kind, place or place_of(frame))
        return items

    def _after_step(self, optimizer: torch.optim.Optimizer, args: tuple, kwargs: dict) -> None:
        record = self._optimizers.get(id(optimizer))
        start = self._step_starts.pop(id(optimizer), None) if self._step_starts else None
        if record is None:
            return
        items = []
        if start is not None:  # a sampled step
            seq, place, kind, with_grad = start
            if not with_grad:  # a closure filled them during the step
                with_grad = [(p, s) for p, s in record.params if p.requires_grad and p.grad is not None]
            seen_seq = _graph.next_sequence_nr()
            how = ""
            for param, state in with_grad:
                state.steps += 1
                state.updates += 1
                if seq is not None and seq > state.update_seq:
                    state.update_seq = seq
                    # The message is built once per step, and only for the leaves whose record it changes.
                    state.update_how = how = how or f"by {kind}.step() at line {place.line}"
                state.seen_version = param._version
                state.seen_seq = seen_seq
            self._step_count += 1
            if self._fresh:
                items += self._not_optimized_items(place)
        if record.never_grad and not record.unused_reported:
            for key in [key for key, p in record.never_grad.items() if p.grad is not None]:
                del record.never_grad[key]
        upcoming = record.steps + 1
        self._next_step_unscanned = not (
            upcoming <= checks.FINITE_SCAN_FIRST_STEPS or upcoming % checks.FINITE_SCAN_EVERY == 0
        )
        if record.steps == checks.UNUSED_AFTER_STEPS:
            items += self._unused_items(record)
        if items:
            self._deliver(items)

    # -- AGL101 on an accelerator -----------------------------------------------------------------

    def _defer_finite(self, grads: list[torch.Tensor], owners: list[torch.Tensor], kind: str, place: Any) -> None:
        """The verdict is computed on the device and copied back without waiting; it is read once the
        copy is done (an event says so) or at the next scanned step, never in between."""
        device = grads[0].device
        finite = torch.isfinite(torch.stack([g.sum(dtype=torch.float32).to(device) for g in grads]))
        event = None
        if device.type == "cuda":
            host = torch.empty(finite.shape, dtype=finite.dtype, pin_memory=True)
            host.copy_(finite, non_blocking=True)
            event = torch.cuda.Event()
            event.record()
            finite = host
        self._deferred_finite.append((finite, event, [weakref.ref(p) for p in owners], kind, place))

    def _deferred_finite_items(self, wait: bool) -> list[checks.Item]:
        items, kept = [], []
        for entry in self._deferred_finite:
            finite, event, refs, kind, place = entry
            if not wait and (event is None or not event.query()):
                kept.append(entry)
                continue
            if event is not None:
                event.synchronize()
            bad = [ref() for ref, ok in zip(refs, finite.tolist(), strict=False) if not ok]
            names = [self._names.get(t) or describe(t) for t in bad if t is not None]
            if names:
                items.append(checks.non_finite_gradient(kind, names, place))
        self._deferred_finite = kept
        return items

    # -- AGL102 and AGL103 ------------------------------------------------------------------------

    def _unused_items(self, record: OptimizerRecord) -> list[checks.Item]:
        if record.unused_reported or not record.steps:
            return []
        record.unused_reported = True
        unused = [p for p in record.never_grad.values() if p.requires_grad]
        if not unused:
            return []
        frame = user_frame()
        names = [self._name(p, frame) for p in unused]
        return [checks.unused_parameter(record.kind, names, record.steps, record.first_step)]

    def _orphan_items(self) -> list[checks.Item]:
        if not self._orphans:
            return []
        items, self._orphans = list(self._orphans.values()), {}
        return items

    def _not_optimized_items(self, place: Any) -> list[checks.Item]:
        fresh, self._fresh = self._fresh, []
        if PARAMETER_NOT_OPTIMIZED not in self._checks:
            return []
        owned, now = self._owned, self._step_count
        found = []
        for state in fresh:
            leaf = state.ref()
            if leaf is None or id(leaf) in owned or state.unowned_reported:
                continue
            # Consecutive: no more steps between two fills than there are optimizers taking turns.
            consecutive = now - state.unowned_last <= max(1, len(self._optimizers))
            state.unowned_run = state.unowned_run + 1 if consecutive else 1
            state.unowned_last = now
            if state.unowned_run >= checks.NOT_OPTIMIZED_AFTER_UPDATES:
                state.unowned_reported = True
                found.append(leaf)
        if found:
            # An optimizer built and not stepped yet (a WGAN's generator, stepped every 5th critic step)
            # holds them too: the heap is searched once per candidate, and only then.
            held = _held_by_any_optimizer()
            for leaf in [leaf for leaf in found if id(leaf) in held]:
                state = self._leaves.get(leaf, None)
                state.unowned_reported, state.unowned_run = False, 0
                found.remove(leaf)
        if not found:
            return []
        frame = user_frame()
        names = parameter_names(frame)
        listed = [
            self._names.get(leaf) or (names[id(leaf)][0] if id(leaf) in names else self._name(leaf, frame))
            for leaf in found
        ]
        return [checks.parameter_not_optimized(sorted(listed), checks.NOT_OPTIMIZED_AFTER_UPDATES, place)]


def _held_by_any_optimizer() -> set[int]:
    # type(), not isinstance(): isinstance reads __class__, which some lazy module proxies warn about.
    optimizers = [o for o in gc.get_objects() if issubclass(type(o), torch.optim.Optimizer)]
    return {id(p) for o in optimizers for group in o.param_groups for p in group["params"]}


def _signature(optimizer: torch.optim.Optimizer) -> tuple:
    return tuple((id(group["params"]), len(group["params"])) for group in optimizer.param_groups)


def _optimizer_gone(monitor_ref: weakref.ref, key: int, ref: weakref.ref) -> None:
    """Drops a dead optimizer's record, keeping only its AGL102 finding, if any, to deliver later."""
    monitor = monitor_ref()
    if monitor is None:
        return
    record = monitor._optimizers.get(key)
    if record is None or record.ref is not ref:
        return
    del monitor._optimizers[key]
    monitor._owned = frozenset().union(*(r.param_ids for r in monitor._optimizers.values()))
    unused = [p for p in record.never_grad.values() if p.requires_grad]
    if record.steps and not record.unused_reported and unused:
        names = [monitor._names.get(p) or describe(p) for p in unused]
        item = checks.unused_parameter(record.kind, names, record.steps, record.first_step)
        monitor._orphans[(record.first_step.path, record.first_step.line)] = item
