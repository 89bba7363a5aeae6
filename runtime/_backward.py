"""The checks made at each backward: stale graphs (AGL001), gradients added to stale ones (AGL002),
moved leaves (AGL007) and kept graphs (AGL006), plus strict mode's record of every use."""

from __future__ import annotations

import math
import weakref
from collections import Counter
from typing import Any

import torch

from . import _graph, _patches, checks
from ._base import MonitorBase
from ._state import LeafState, RootRecord
from ._where import Place, describe, module_tensor_attributes, place_of, scopes, user_frame
from .categories import LOSS_KEPT_WITH_GRAPH, NON_FINITE_GRADIENT, NON_LEAF_PARAMETER, STALE_GRAPH

Token = list[tuple[torch.Tensor, LeafState]]


class BackwardChecks(MonitorBase):
    def _before_backward(self, tensors: Any, accumulate: bool, create_graph: bool) -> Token | None:
        """The checks of one backward; None when this one is not sampled (see ``_base``)."""
        if self._pending:
            self._flush_pending()
        # A non-finite loss asks for a scan at the next step; needless when that step is scanned anyway.
        if self._next_step_unscanned and NON_FINITE_GRADIENT in self._checks and _nonfinite_cpu_scalar(tensors):
            self._nonfinite_loss = True
        if not self._backward_is_checked():
            return None
        frame = user_frame()
        place = place_of(frame)
        records = [self._root_record(root, place) for root in _root_nodes(tensors)]
        if len(records) == 1:
            used = records[0].leaves
        else:  # several roots: merge, keeping each leaf's oldest and newest use
            merged: dict[int, list[Any]] = {}
            for record in records:
                for leaf, oldest, newest in record.leaves:
                    entry = merged.get(id(leaf))
                    if entry is None:
                        merged[id(leaf)] = [leaf, oldest, newest]
                    elif oldest is not None:
                        entry[1], entry[2] = min(entry[1], oldest), max(entry[2], newest)
            used = [tuple(entry) for entry in merged.values()]
        if create_graph and not self._only_newest_use:
            self._only_newest_use = any(leaf.device.type != "cpu" for leaf, _, _ in used)
        stale: dict[int, tuple[torch.Tensor, str]] = {}
        stale_grads = []
        filled: Token = []
        order = STALE_GRAPH in self._checks and _graph.HAS_SEQUENCE_NR
        only_newest = self._only_newest_use
        table = self._leaves
        seq_now = _graph.next_sequence_nr()
        for leaf, oldest, newest in used:
            state = table.get(leaf, seq_now)
            if leaf._version != state.seen_version:
                self._sync_version(leaf, state)
            use = newest if only_newest else oldest
            if order and use is not None and state.update_seq > use:
                stale[id(leaf)] = (leaf, state.update_how)
            if accumulate:
                state.pending_since = self._grad_since(leaf, state)
                if not state.stepped and state.pending_since < state.updates:
                    stale_grads.append(leaf)
                filled.append((leaf, state))
        if self._strict_ids:
            for record in records:
                self._strict_stale(record.uses, stale)
        items: list[checks.Item] = []
        if stale:
            names = [self._name(t, frame) for t, _ in stale.values()]
            items.append(checks.stale_graph(names, next(iter(stale.values()))[1], place))
        if stale_grads:
            items.append(checks.missing_zero_grad_at_backward([self._name(t, frame) for t in stale_grads], place))
        casts = [cast for record in records for cast in record.casts]
        if casts and NON_LEAF_PARAMETER in self._checks:
            items += self._moved_leaf_items(casts, frame, place)
        if self._roots and LOSS_KEPT_WITH_GRAPH in self._checks:
            items += self._kept_graph_items(place)
        if items:
            self._deliver(items)
        return filled

    def _strict_stale(self, uses: list[Any], stale: dict[int, tuple[torch.Tensor, str]]) -> None:
        for tensor_id, updates_at_use in uses:
            ref = self._strict_ids.get(tensor_id)
            tensor = ref() if ref is not None else None
            if tensor is not None and tensor_id not in stale:
                state = self._state(tensor)
                self._sync_version(tensor, state)
                if state.updates != updates_at_use:
                    stale[tensor_id] = (tensor, state.update_how)

    def _after_backward(self, filled: Token) -> None:
        seq = _graph.next_sequence_nr()
        # Listed for AGL103 only when no optimizer holds them: in a sound loop the list stays empty.
        owned = self._owned if self._optimizers else None
        step_count = self._step_count
        for leaf, state in filled:
            grad = leaf.grad
            if grad is not None:
                ref = state.grad_ref
                if ref is None or ref() is not grad:
                    state.grad_ref = weakref.ref(grad)
                state.grad_version = grad._version
                state.grad_since = state.pending_since
                state.grad_epoch = state.steps if state.stepped else state.updates
                if owned is not None and id(leaf) not in owned and state.fresh_mark != step_count:
                    state.fresh_mark = step_count
                    self._fresh.append(state)
            state.seen_version = leaf._version
            state.seen_seq = seq

    def _root_record(self, root: Any, place: Place) -> RootRecord:
        """The leaves under ``root``, walked once per graph: a retained graph reuses the walk.

        The record holds the leaves themselves: it lives in the root's metadata, so no longer than
        the graph, which holds them too.
        """
        metadata = root.metadata if _graph.HAS_METADATA else {}
        record = metadata.get(self._key)
        if record is None:
            found = _graph.walk(root, read_uses=bool(self._strict_ids) and _graph.HAS_METADATA)
            casts = [(node, weakref.ref(leaf)) for node, leaf in found.casts] if found.casts else []
            record = RootRecord(place, list(found.leaves.values()), found.uses, casts)
            if _graph.HAS_METADATA:
                metadata[self._key] = record
                if LOSS_KEPT_WITH_GRAPH in self._checks and (place.path, place.line) not in self._kept_reported:
                    self._roots.append(weakref.ref(record))
        record.last_backward = self._backward_count
        return record

    def _moved_leaf_items(self, casts: list[tuple[Any, weakref.ref]], frame: Any, place: Place) -> list[checks.Item]:
        """A graph reaches a leaf through a move or cast: is the copy what the user holds, and the leaf lost?"""
        unchecked = []
        for node, leaf_ref in casts:
            leaf = leaf_ref()
            if leaf is None:
                continue
            state = self._state(leaf)
            if not state.cast_checked:
                state.cast_checked = True
                unchecked.append((node, leaf))
        if not unchecked:
            return []
        namespaces = scopes(frame)
        holders = [(n, v) for n, v in (namespaces[0].items() if namespaces else ()) if isinstance(v, torch.Tensor)]
        holders += module_tensor_attributes(frame)
        items = []
        for node, leaf in unchecked:
            copies = [name for name, value in holders if value.grad_fn is node and not value.retains_grad]
            if copies and not checks.held_elsewhere(leaf, namespaces):
                items.append(checks.non_leaf_parameter(copies[0], type(node).__name__, place))
        return items

    def _kept_graph_items(self, place: Place) -> list[checks.Item]:
        roots = self._roots = [ref for ref in self._roots if ref() is not None]
        horizon = self._backward_count - checks.KEPT_GRAPH_WINDOW
        old = [record for record in (ref() for ref in roots) if record and record.last_backward <= horizon]
        if len(old) < checks.KEPT_GRAPHS_TO_REPORT:
            return []
        where, count = Counter((r.place.path, r.place.line) for r in old).most_common(1)[0]
        if count < checks.KEPT_GRAPHS_TO_REPORT:
            return []
        self._kept_reported.add(where)
        kept_at = next(r.place for r in old if (r.place.path, r.place.line) == where)
        self._roots = [ref for ref in self._roots if _backward_place(ref()) not in (where, None)]
        return [checks.loss_kept_with_graph(count, kept_at, place)]

    # -- strict mode ----------------------------------------------------------------------------

    def _on_torch_call(self, func: Any, args: tuple, kwargs: dict, result: Any) -> None:
        if not torch.is_grad_enabled():
            return
        used = [t for t in _patches.tensor_args(args, kwargs) if self._is_strict(t)]
        if not used:
            return
        nodes = [t.grad_fn for t in _patches.tensor_args((result,), {}) if t.grad_fn is not None]
        if not nodes:
            return
        for tensor in used:
            state = self._state(tensor)
            self._sync_version(tensor, state)
            for node in nodes:
                metadata: Any = node.metadata
                metadata.setdefault(_graph.USES_KEY, {})[id(tensor)] = state.updates

    def _is_strict(self, tensor: torch.Tensor) -> bool:
        ref = self._strict_ids.get(id(tensor))
        return ref is not None and ref() is tensor

    def _watched_non_leaves(self, place: Place) -> list[checks.Item]:
        items = []
        for ref in list(self._strict_ids.values()):
            tensor = ref()
            if tensor is not None and tensor.requires_grad and tensor.grad_fn is not None:
                name = self._names.get(tensor) or describe(tensor)
                items.append(checks.non_leaf_parameter(name, type(tensor.grad_fn).__name__, place))
        return items


def _backward_place(record: RootRecord | None) -> tuple[str, int] | None:
    return (record.place.path, record.place.line) if record is not None else None


def _nonfinite_cpu_scalar(tensors: Any) -> bool:
    """Is a loss being backpropagated a NaN or inf? Only CPU scalars are read: on an accelerator the
    read would make the host wait for the device on every step."""
    if isinstance(tensors, torch.Tensor):  # the usual loss.backward(), first
        return tensors.is_cpu and tensors.numel() == 1 and not math.isfinite(tensors.item())
    for item in tensors:
        if isinstance(item, torch.Tensor) and item.is_cpu and item.numel() == 1:
            if not math.isfinite(item.item()):
                return True
    return False


def _root_nodes(tensors: Any) -> list[Any]:
    if isinstance(tensors, _patches._SINGLE_ROOT):
        tensors = (tensors,)
    nodes = []
    for item in tensors:
        node = item.grad_fn if isinstance(item, torch.Tensor) else getattr(item, "node", None)
        if node is not None:
            nodes.append(node)
    return nodes
