"""The state every part of the monitor shares, and the two things they all do: look up a leaf, report."""

from __future__ import annotations

import functools
import warnings
import weakref
from collections.abc import Sequence
from typing import Any

import torch

from autograd_lint.finding import Finding

from . import _graph, checks
from ._state import LeafState, LeafTable, NameTable, OptimizerRecord, PendingAlias, _drop
from ._where import Place, describe, line_extent, name_in_frame, place_of, user_frame
from .categories import AutogradLintError, Check


class MonitorBase:
    """Attributes and helpers of ``watch``; the checks live in the classes built on this one."""

    def __init__(self, on_finding: str, chosen: frozenset[Check]) -> None:
        self.findings: list[Finding] = []
        self._on_finding = on_finding
        self._checks = chosen
        self._names = NameTable()
        self._leaves = LeafTable()
        self._strict_ids: dict[int, weakref.ref] = {}
        self.strict = False
        self._pending: dict[int, PendingAlias] = {}
        self._reported: set[tuple[str, str, int, str]] = set()
        # sampling (see the module docstring): is the stretch since the last backward checked in full?
        self._samples = True  # strict monitors record every use, so they check every backward
        self._live = True
        # backward side
        self._key = ""
        self._roots: list[weakref.ref] = []
        self._kept_reported: set[tuple[str, int]] = set()
        self._backward_count = 0
        self._nonfinite_loss = False
        self._next_step_unscanned = True
        self._only_newest_use = False  # once nodes may come from a CUDA worker thread (see _graph.Walk)
        # optimizer side
        self._optimizers: dict[int, OptimizerRecord] = {}
        self._owned: frozenset[int] = frozenset()
        self._step_count = 0
        self._fresh: list[LeafState] = []  # leaves a backward filled since the last step
        self._step_starts: dict[int, tuple[int | None, Place, str, list[tuple[Any, LeafState]]]] = {}
        self._deferred_finite: list[tuple[Any, Any, list[weakref.ref], str, Place]] = []
        self._orphans: dict[tuple[str, int], checks.Item] = {}  # findings of optimizers gone, to deliver
        # clipping
        self._scaled: dict[int, tuple[weakref.ref, weakref.ref]] = {}

    # -- reporting ------------------------------------------------------------------------------

    def _deliver(self, items: Sequence[checks.Item], may_raise: bool = True) -> None:
        for check, message, place, subject in items:
            key = (check.code, place.path, place.line, subject)
            if check not in self._checks or key in self._reported:
                continue
            self._reported.add(key)
            column, end_column = line_extent(place.path, place.line)
            finding = Finding(check.code, check.name, message, place.path, place.line, column, place.line, end_column)
            self.findings.append(finding)
            if self._on_finding == "warn":
                warnings.warn_explicit(
                    message, check.category, place.path, place.line, module=place.module, registry=place.registry
                )
            elif self._on_finding == "raise" and may_raise:
                raise AutogradLintError(finding)

    def _name(self, tensor: torch.Tensor, frame: Any) -> str:
        return self._names.get(tensor) or name_in_frame(tensor, frame) or describe(tensor)

    # -- leaves and their updates ---------------------------------------------------------------

    def _state(self, tensor: torch.Tensor) -> LeafState:
        return self._leaves.get(tensor, _graph.next_sequence_nr())

    def _count_update(self, state: LeafState, seq: int | None, how: str) -> None:
        state.updates += 1
        if seq is not None and seq > state.update_seq:
            state.update_seq = seq
            state.update_how = how

    def _sync_version(self, tensor: torch.Tensor, state: LeafState) -> None:
        """Counts an in-place change made since the last look (``p -= lr * p.grad`` under no_grad)."""
        version = tensor._version
        if version != state.seen_version:
            state.seen_version = version
            self._count_update(state, state.seen_seq, "in place, e.g. under torch.no_grad()")

    def _grad_since(self, tensor: torch.Tensor, state: LeafState) -> int:
        """Epoch of the oldest contribution still in ``tensor.grad``."""
        grad = tensor.grad
        epoch = state.epoch()
        if grad is None or state.grad_ref is None or state.grad_ref() is not grad:
            return epoch  # cleared, or set by the user: theirs to answer for
        if state.grad_since >= epoch:
            return state.grad_since
        # Changed in place since the last backward: zeroed (cleared) or scaled (clipped, still old)?
        # The reduction runs only here, where a stale gradient is already suspected.
        if grad is not None and grad._version != state.grad_version and not bool(grad.any()):
            return epoch
        return state.grad_since

    # -- sampling -------------------------------------------------------------------------------

    def _backward_is_checked(self) -> bool:
        """Counts a backward; says whether it, and what follows it until the next one, is checked in full."""
        count = self._backward_count = self._backward_count + 1
        after = count - checks.SAMPLE_FIRST_BACKWARDS
        live = (
            not self._samples or after <= 0 or after % checks.SAMPLE_EVERY >= checks.SAMPLE_EVERY - checks.SAMPLE_WINDOW
        )
        if live and not self._live:
            self._reprime()
        self._live = live
        return live

    def _reprime(self) -> None:
        """Starts a checked stretch after an unchecked one (or a gap outside the watch): what the
        monitor last saw of each leaf is out of date, so it looks again instead of comparing.

        A gradient is taken as the user's own (no earlier contribution known), which is what makes
        a clean loop stay silent; a leaf changed meanwhile by hand counts as updated, one stepped by
        an optimizer was updated by its unchecked steps. What each record says about when a leaf
        was last updated stays: a graph built before that is stale whatever happened since.
        """
        seq = _graph.next_sequence_nr()
        for state in self._leaves.states():
            tensor = state.ref()
            if tensor is None:
                continue
            state.grad_ref = None
            if tensor._version != state.seen_version:
                if state.stepped:
                    state.seen_version = tensor._version
                else:
                    self._sync_version(tensor, state)
            state.seen_seq = seq
        self._fresh = []

    # -- .data aliases --------------------------------------------------------------------------

    def _on_data_read(self, tensor: torch.Tensor, alias: torch.Tensor) -> None:
        if not self._live:
            return
        key = id(tensor)
        earlier = self._pending.pop(key, None)
        if earlier is not None:
            self._resolve(earlier)
        self._pending[key] = PendingAlias(
            weakref.ref(tensor, functools.partial(_drop, self._pending, key)),
            alias,
            alias._version,
            _graph.next_sequence_nr(),
            place_of(user_frame()),
        )

    def _on_data_write(self, tensor: torch.Tensor) -> None:
        if not self._live:
            return
        earlier = self._pending.pop(id(tensor), None)
        if earlier is not None:
            self._resolve(earlier)
        state = self._state(tensor)
        state.seen_version = tensor._version
        place = place_of(user_frame())
        self._count_update(state, _graph.next_sequence_nr(), f"by assigning .data at {place.seen_from(place)}")

    def _resolve(self, pending: PendingAlias) -> None:
        tensor = pending.ref()
        if tensor is not None and pending.alias._version != pending.version:
            how = f"through .data at line {pending.place.line}"
            self._count_update(self._state(tensor), pending.seq, how)

    def _flush_pending(self) -> None:
        if self._pending:
            pending, self._pending = list(self._pending.values()), {}
            for alias in pending:
                self._resolve(alias)
