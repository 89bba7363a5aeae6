"""``watch``: runs code with autograd under observation and reports the mistakes it sees."""

from __future__ import annotations

import contextlib
import functools
import itertools
import math
import warnings
import weakref
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import torch
from torch.utils.weak import WeakIdKeyDictionary

from autograd_lint.finding import Finding

from . import _graph, _patches, checks
from ._state import LeafState, OptimizerRecord, PendingAlias, RootRecord
from ._where import Place, describe, line_extent, name_in_frame, parameter_names, place_of, user_frame
from .categories import (
    LOSS_KEPT_WITH_GRAPH,
    NON_FINITE_GRADIENT,
    NON_LEAF_PARAMETER,
    AutogradLintError,
    select_checks,
)

ON_FINDING = ("warn", "raise", "collect")
_SINGLE_ROOT: tuple[type, ...] = (torch.Tensor,) + tuple(
    t for t in [getattr(torch.autograd.graph, "GradientEdge", None)] if t is not None
)
_monitor_ids = itertools.count()
F = TypeVar("F", bound=Callable[..., Any])


class watch:
    """Watch autograd while the enclosed code runs; a context manager and a decorator.

    ``on_finding``: ``"warn"`` issues a warning per finding (one category per check, at the
    user's line), ``"raise"`` raises :class:`AutogradLintError`, ``"collect"`` only records.
    Every finding is in ``.findings`` whatever the mode.

    Tensors and modules passed positionally are tracked strictly: every torch call that uses them
    is recorded, so a graph built before any update of theirs is caught even on its first backward;
    findings call them by the caller's names. ``model=`` only lends names to its parameters.
    ``checks``: codes or names to run (default: all).
    """

    def __init__(
        self,
        *targets: torch.Tensor | torch.nn.Module,
        on_finding: str = "warn",
        model: torch.nn.Module | None = None,
        checks: Iterable[str] | None = None,
    ) -> None:
        if on_finding not in ON_FINDING:
            raise ValueError(f"on_finding must be one of {', '.join(ON_FINDING)}, not {on_finding!r}")
        for target in targets:
            if not isinstance(target, (torch.Tensor, torch.nn.Module)):
                raise TypeError(
                    f"watch() tracks tensors and modules, not {type(target).__name__}; "
                    "to decorate a function write @watch()"
                )
        self.findings: list[Finding] = []
        self._on_finding = on_finding
        self._checks = select_checks(checks)
        frame = user_frame()
        self._created_at = place_of(frame)
        self._names: WeakIdKeyDictionary = WeakIdKeyDictionary()
        self._strict_ids: dict[int, weakref.ref] = {}
        for target in targets:
            self._adopt(target, name_in_frame(target, frame), strict=True)
        if model is not None:
            self._adopt(model, name_in_frame(model, frame), strict=False)
        self._key = f"autograd_lint.root.{next(_monitor_ids)}"
        self._leaves: WeakIdKeyDictionary = WeakIdKeyDictionary()
        self._optimizers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        # Also kept apart from their optimizers: one made inside a training function is gone by the
        # end of the watch, and its unused parameters are still worth reporting.
        self._optimizer_records: list[tuple[str, OptimizerRecord]] = []
        self._step_starts: dict[int, tuple[int | None, Place]] = {}
        self._pending: dict[int, PendingAlias] = {}
        self._deferred_finite: list[tuple[torch.Tensor, list[weakref.ref], str, Place]] = []
        self._roots: list[weakref.ref] = []
        self._kept_reported: set[tuple[str, int]] = set()
        self._backward_count = 0
        self._nonfinite_loss = False
        self._reported: set[tuple[str, str, int, str]] = set()
        self._depth = 0
        self._stack: contextlib.ExitStack | None = None

    def _adopt(self, target: torch.Tensor | torch.nn.Module, name: str | None, strict: bool) -> None:
        if isinstance(target, torch.nn.Module):
            prefix = name or type(target).__name__
            tensors = [(f"{prefix}.{n}", p) for n, p in target.named_parameters()]
        else:
            tensors = [(name or describe(target), target)]
        for tensor_name, tensor in tensors:
            self._names[tensor] = tensor_name
            if strict:
                key = id(tensor)
                self._strict_ids[key] = weakref.ref(tensor, functools.partial(_forget, self._strict_ids, key))

    # -- entering and leaving -------------------------------------------------------------------

    def __enter__(self) -> watch:
        self._depth += 1
        if self._depth > 1:
            return self
        stack = contextlib.ExitStack()
        try:
            stack.enter_context(_patches.patched_tensor_data(self._on_data_read, self._on_data_write))
            stack.enter_context(_patches.patched_function(torch.autograd, "backward", self._wrap_backward))
            stack.enter_context(_patches.patched_function(torch.autograd, "grad", self._wrap_grad))
            stack.enter_context(_patches.optimizer_step_hooks(self._before_step, self._after_step))
            if self._strict_ids and _patches.HAS_TORCH_FUNCTION_MODE and _graph.HAS_METADATA:
                stack.enter_context(_patches.recording_mode(self._on_torch_call))
            self._stack = stack
            self._deliver(self._watched_non_leaves())
        except BaseException:
            self._depth -= 1
            self._stack = None
            stack.close()
            raise
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._depth -= 1
        if self._depth:
            return
        items: list[checks.Item] = []
        try:
            self._flush_pending()
            items += self._deferred_finite_items()
            for optimizer_name, record in self._optimizer_records:
                items += self._unused_items(optimizer_name, record)
        finally:
            self._pending.clear()
            stack, self._stack = self._stack, None
            if stack is not None:
                stack.close()
        self._deliver(items, may_raise=exc_type is None)

    def __call__(self, func: F) -> F:
        @functools.wraps(func)
        def watched(*args: Any, **kwargs: Any) -> Any:
            with self:
                return func(*args, **kwargs)

        return watched  # type: ignore[return-value]

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
        state = self._leaves.get(tensor)
        if state is None:
            state = LeafState(seen_version=tensor._version, seen_seq=_graph.next_sequence_nr())
            self._leaves[tensor] = state
        return state

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

    def _on_data_read(self, tensor: torch.Tensor, alias: torch.Tensor) -> None:
        key = id(tensor)
        earlier = self._pending.pop(key, None)
        if earlier is not None:
            self._resolve(earlier)
        self._pending[key] = PendingAlias(
            weakref.ref(tensor, functools.partial(_forget, self._pending, key)),
            alias,
            alias._version,
            _graph.next_sequence_nr(),
            place_of(user_frame()),
        )

    def _on_data_write(self, tensor: torch.Tensor) -> None:
        earlier = self._pending.pop(id(tensor), None)
        if earlier is not None:
            self._resolve(earlier)
        state = self._state(tensor)
        state.seen_version = tensor._version
        place = place_of(user_frame())
        self._count_update(state, _graph.next_sequence_nr(), f"by assigning .data at {place.seen_from(place)}")

    def _resolve(self, pending: PendingAlias) -> None:
        tensor = pending.tensor()
        if tensor is not None and pending.alias._version != pending.version:
            how = f"through .data at line {pending.place.line}"
            self._count_update(self._state(tensor), pending.seq, how)

    def _flush_pending(self) -> None:
        pending, self._pending = list(self._pending.values()), {}
        for alias in pending:
            self._resolve(alias)

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
        if grad._version != state.grad_version and not bool(grad.any()):
            return epoch
        return state.grad_since

    # -- backward -------------------------------------------------------------------------------

    def _wrap_backward(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def backward(tensors: Any, *args: Any, **kwargs: Any) -> Any:
            leaves = self._before_backward(tensors, accumulate=True)
            result = original(tensors, *args, **kwargs)
            self._after_backward(leaves)
            return result

        return backward

    def _wrap_grad(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def grad(outputs: Any, *args: Any, **kwargs: Any) -> Any:
            self._before_backward(outputs, accumulate=False)
            return original(outputs, *args, **kwargs)

        return grad

    def _before_backward(self, tensors: Any, accumulate: bool) -> list[torch.Tensor]:
        self._flush_pending()
        self._backward_count += 1
        if NON_FINITE_GRADIENT in self._checks and _nonfinite_cpu_scalar(tensors):
            self._nonfinite_loss = True
        frame = user_frame()
        place = place_of(frame)
        newest_use: dict[int, list[Any]] = {}
        uses: list[Any] = []
        for root in _root_nodes(tensors):
            record = self._root_record(root, place)
            uses += record.uses
            for leaf_ref, seq in record.leaves:
                leaf = leaf_ref()
                if leaf is None:
                    continue
                entry = newest_use.setdefault(id(leaf), [leaf, seq])
                if seq is not None and entry[1] is not None and seq > entry[1]:
                    entry[1] = seq
        stale: dict[int, tuple[torch.Tensor, str]] = {}
        stale_grads = []
        for leaf, newest in newest_use.values():
            state = self._state(leaf)
            self._sync_version(leaf, state)
            if newest is not None and state.update_seq > newest:
                stale[id(leaf)] = (leaf, state.update_how)
            if accumulate:
                state.pending_since = self._grad_since(leaf, state)
                if not state.stepped and state.pending_since < state.updates:
                    stale_grads.append(leaf)
        for tensor_id, updates_at_use in uses:
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
        if NON_LEAF_PARAMETER in self._checks:
            for name, grad_fn_name in checks.moved_leaf_locals(frame, newest_use):
                items.append(checks.non_leaf_parameter(name, grad_fn_name, place))
        if LOSS_KEPT_WITH_GRAPH in self._checks:
            items += self._kept_graph_items(place)
        self._deliver(items)
        return [leaf for leaf, _ in newest_use.values()] if accumulate else []

    def _after_backward(self, leaves: list[torch.Tensor]) -> None:
        seq = _graph.next_sequence_nr()
        for leaf in leaves:
            state = self._state(leaf)
            grad = leaf.grad
            if grad is not None:
                state.grad_ref = weakref.ref(grad)
                state.grad_version = grad._version
                state.grad_since = state.pending_since
            state.seen_version = leaf._version
            state.seen_seq = seq

    def _root_record(self, root: Any, place: Place) -> RootRecord:
        """The leaves under ``root``, walked once per graph: a retained graph reuses the walk."""
        metadata = root.metadata if _graph.HAS_METADATA else {}
        record = metadata.get(self._key)
        if record is None:
            leaves, uses = _graph.leaves_of(root, read_uses=bool(self._strict_ids) and _graph.HAS_METADATA)
            record = RootRecord(place, [(weakref.ref(leaf), seq) for leaf, seq in leaves], uses)
            if _graph.HAS_METADATA:
                metadata[self._key] = record
                if LOSS_KEPT_WITH_GRAPH in self._checks and (place.path, place.line) not in self._kept_reported:
                    self._roots.append(weakref.ref(record))
        record.last_backward = self._backward_count
        return record

    def _kept_graph_items(self, place: Place) -> list[checks.Item]:
        self._roots = [ref for ref in self._roots if ref() is not None]
        horizon = self._backward_count - checks.KEPT_GRAPH_WINDOW
        old = [record for record in (ref() for ref in self._roots) if record and record.last_backward <= horizon]
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
        used = [t for t in _tensor_args(args, kwargs) if self._is_strict(t)]
        if not used:
            return
        nodes = [t.grad_fn for t in _tensor_args((result,), {}) if t.grad_fn is not None]
        if not nodes:
            return
        for tensor in used:
            state = self._state(tensor)
            self._sync_version(tensor, state)
            for node in nodes:
                node.metadata.setdefault(_graph.USES_KEY, {})[id(tensor)] = state.updates

    def _is_strict(self, tensor: torch.Tensor) -> bool:
        ref = self._strict_ids.get(id(tensor))
        return ref is not None and ref() is tensor

    def _watched_non_leaves(self) -> list[checks.Item]:
        items = []
        for ref in list(self._strict_ids.values()):
            tensor = ref()
            if tensor is not None and tensor.requires_grad and tensor.grad_fn is not None:
                name = self._names.get(tensor) or describe(tensor)
                items.append(checks.non_leaf_parameter(name, type(tensor.grad_fn).__name__, self._created_at))
        return items

    # -- optimizer steps ------------------------------------------------------------------------

    def _before_step(self, optimizer: torch.optim.Optimizer, args: tuple, kwargs: dict) -> None:
        self._flush_pending()
        frame = user_frame()
        place = place_of(frame)
        items = self._deferred_finite_items()
        record = self._optimizers.get(optimizer)
        if record is None:
            record = self._optimizers[optimizer] = OptimizerRecord(place)
            self._optimizer_records.append((type(optimizer).__name__, record))
            # Name the parameters now, while the training code's frame still holds its modules:
            # later findings (AGL102 at the end of the script) come from frames that do not.
            for name, param in parameter_names(frame).values():
                if self._names.get(param) is None:
                    self._names[param] = name
        record.steps += 1
        # A closure (LBFGS) clears and recomputes the gradients inside the step itself.
        has_closure = (len(args) > 1 and args[1] is not None) or kwargs.get("closure") is not None
        stale, grads, owners = [], [], []
        for param in _parameters(optimizer):
            state = self._state(param)
            if not state.stepped:
                state.stepped = True
                state.grad_since = state.steps
            self._sync_version(param, state)
            grad = param.grad
            if record.had_grad.get(param) is None or grad is not None:
                record.had_grad[param] = grad is not None
            if grad is None:
                continue
            if not has_closure and self._grad_since(param, state) < state.steps:
                stale.append(param)
            if grad.layout == torch.strided:
                grads.append(grad)
                owners.append(param)
        self._step_starts[id(optimizer)] = (_graph.next_sequence_nr(), place)
        optimizer_name = type(optimizer).__name__
        if stale:
            items.append(checks.missing_zero_grad_at_step(optimizer_name, [self._name(p, frame) for p in stale], place))
        # GradScaler hands fused optimizers its inf check and lets them skip the step themselves.
        scan = (
            record.steps <= checks.FINITE_SCAN_FIRST_STEPS
            or record.steps % checks.FINITE_SCAN_EVERY == 0
            or self._nonfinite_loss
        )
        if scan and grads and "found_inf" not in kwargs and NON_FINITE_GRADIENT in self._checks:
            self._nonfinite_loss = False
            if all(g.device.type == "cpu" for g in grads):
                bad = [owners[i] for i in checks.nonfinite_indices(grads)]
                if bad:
                    items.append(checks.non_finite_gradient(optimizer_name, [self._name(p, frame) for p in bad], place))
            else:
                # On an accelerator, read the verdict at the next step, so this one does not wait for it.
                finite = torch.isfinite(torch.stack([g.sum(dtype=torch.float32).to(grads[0].device) for g in grads]))
                self._deferred_finite.append((finite, [weakref.ref(p) for p in owners], optimizer_name, place))
        if record.steps == checks.UNUSED_AFTER_STEPS:
            items += self._unused_items(type(optimizer).__name__, record)
        self._deliver(items)

    def _after_step(self, optimizer: torch.optim.Optimizer, args: tuple, kwargs: dict) -> None:
        seq, place = self._step_starts.pop(id(optimizer), (_graph.next_sequence_nr(), place_of(user_frame())))
        seen_seq = _graph.next_sequence_nr()
        how = f"by {type(optimizer).__name__}.step() at {place.seen_from(place)}"
        for param in _parameters(optimizer):
            if param.grad is None:
                continue
            state = self._state(param)
            state.steps += 1
            self._count_update(state, seq, how)
            state.seen_version = param._version
            state.seen_seq = seen_seq

    def _deferred_finite_items(self) -> list[checks.Item]:
        items = []
        for finite, refs, optimizer_name, place in self._deferred_finite:
            flags = finite.tolist()
            bad = [ref() for ref, ok in zip(refs, flags, strict=False) if not ok]
            names = [self._names.get(t) or describe(t) for t in bad if t is not None]
            if names:
                items.append(checks.non_finite_gradient(optimizer_name, names, place))
        self._deferred_finite = []
        return items

    def _unused_items(self, optimizer_name: str, record: OptimizerRecord) -> list[checks.Item]:
        if record.unused_reported or not record.steps:
            return []
        record.unused_reported = True
        frame = user_frame()
        unused = [p for p, had_grad in record.had_grad.items() if not had_grad]
        if not unused:
            return []
        names = [self._name(p, frame) for p in unused]
        return [checks.unused_parameter(optimizer_name, names, record.steps, record.first_step)]


def _forget(table: dict, key: int, ref: weakref.ref) -> None:
    entry = table.get(key)
    if entry is ref or getattr(entry, "tensor", None) is ref:
        del table[key]


def _backward_place(record: RootRecord | None) -> tuple[str, int] | None:
    return (record.place.path, record.place.line) if record is not None else None


def _nonfinite_cpu_scalar(tensors: Any) -> bool:
    """Is a loss being backpropagated a NaN or inf? Only CPU scalars are read: elsewhere the
    read would wait for the device."""
    for item in (tensors,) if isinstance(tensors, torch.Tensor) else tensors:
        if isinstance(item, torch.Tensor) and item.device.type == "cpu" and item.numel() == 1:
            if not math.isfinite(item.item()):
                return True
    return False


def _root_nodes(tensors: Any) -> Iterable[Any]:
    if isinstance(tensors, _SINGLE_ROOT):
        tensors = (tensors,)
    for item in tensors:
        node = item.grad_fn if isinstance(item, torch.Tensor) else getattr(item, "node", None)
        if node is not None:
            yield node


def _tensor_args(args: tuple, kwargs: dict) -> Iterable[torch.Tensor]:
    for value in itertools.chain(args, kwargs.values()):
        if isinstance(value, torch.Tensor):
            yield value
        elif isinstance(value, (list, tuple)):
            for inner in value:
                if isinstance(inner, torch.Tensor):
                    yield inner


def _parameters(optimizer: torch.optim.Optimizer) -> Iterable[torch.Tensor]:
    for group in optimizer.param_groups:
        for param in group["params"]:
            if param.requires_grad:
                yield param
