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
    def _before_backward(self, tensors: Any, accumulate: bool, create_graph: bool) -> Token:
        self._flush_pending()
        self._backward_count += 1
        if NON_FINITE_GRADIENT in self._checks and _nonfinite_cpu_scalar(tensors):
            self._nonfinite_loss = True
        frame = user_frame()
        place = place_of(frame)
        # leaf id -> [leaf, oldest use, newest use] over every root
        used: dict[int, list[Any]] = {}
        strict_uses: list[Any] = []
        casts: list[tuple[Any, weakref.ref]] = []
        non_cpu = False
        for root in _root_nodes(tensors):
            record = self._root_record(root, place)
            strict_uses += record.uses
            casts += record.casts
            for leaf_ref, oldest, newest in record.leaves:
                leaf = leaf_ref()
                if leaf is None:
                    continue
                entry = used.get(id(leaf))
                if entry is None:
                    used[id(leaf)] = [leaf, oldest, newest]
                elif oldest is not None:
                    entry[1] = min(entry[1], oldest)
                    entry[2] = max(entry[2], newest)
        if create_graph and not self._only_newest_use:
            non_cpu = any(entry[0].device.type != "cpu" for entry in used.values())
            self._only_newest_use = non_cpu
        stale: dict[int, tuple[torch.Tensor, str]] = {}
        stale_grads = []
        filled: Token = []
        order = STALE_GRAPH in self._checks and _graph.HAS_SEQUENCE_NR
        only_newest = self._only_newest_use
        for key, (leaf, oldest, newest) in used.items():
            state = self._state(leaf)
            self._sync_version(leaf, state)
            use = newest if only_newest else oldest
            if order and use is not None and state.update_seq > use:
                stale[key] = (leaf, state.update_how)
            if accumulate:
                state.pending_since = self._grad_since(leaf, state)
                if not state.stepped and state.pending_since < state.updates:
                    stale_grads.append(leaf)
                filled.append((leaf, state))
        for tensor_id, updates_at_use in strict_uses:
            ref = self._strict_ids.get(tensor_id)
            tensor = ref() if ref is not None else None
            if tensor is not None and tensor_id not in stale:
                state = self._state(tensor)
                self._sync_version(tensor, state)
                if state.updates != updates_at_use:
                    stale[tensor_id] = (tensor, state.update_how)
        items: list[checks.Item] = []
        if stale:
            names = [self._name(t, frame) for t, _ in stale.values()]
            items.append(checks.stale_graph(names, next(iter(stale.values()))[1], place))
        if stale_grads:
            items.append(checks.missing_zero_grad_at_backward([self._name(t, frame) for t in stale_grads], place))
        if casts and NON_LEAF_PARAMETER in self._checks:
            items += self._moved_leaf_items(casts, frame, place)
        if LOSS_KEPT_WITH_GRAPH in self._checks:
            items += self._kept_graph_items(place)
        self._deliver(items)
        return filled

    def _after_backward(self, filled: Token) -> None:
        seq = _graph.next_sequence_nr()
        collect_fresh = bool(self._optimizers)
        step_count = self._step_count
        for leaf, state in filled:
            grad = leaf.grad
            if grad is not None:
                if state.grad_ref is None or state.grad_ref() is not grad:
                    state.grad_ref = weakref.ref(grad)
                state.grad_version = grad._version
                state.grad_since = state.pending_since
                state.grad_epoch = state.epoch()
                if collect_fresh and state.fresh_mark != step_count:
                    state.fresh_mark = step_count
                    self._fresh.append(state)
            state.seen_version = leaf._version
            state.seen_seq = seq

    def _root_record(self, root: Any, place: Place) -> RootRecord:
        """The leaves under ``root``, walked once per graph: a retained graph reuses the walk."""
        metadata = root.metadata if _graph.HAS_METADATA else {}
        record = metadata.get(self._key)
        if record is None:
            found = _graph.walk(root, read_uses=bool(self._strict_ids) and _graph.HAS_METADATA)
            leaves = [(weakref.ref(leaf), oldest, newest) for leaf, oldest, newest in found.leaves.values()]
            casts = [(node, weakref.ref(leaf)) for node, leaf in found.casts]
            record = RootRecord(place, leaves, found.uses, casts)
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
    for item in (tensors,) if isinstance(tensors, torch.Tensor) else tensors:
        if isinstance(item, torch.Tensor) and item.device.type == "cpu" and item.numel() == 1:
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
