"""``watch``: runs code with autograd under observation and reports the mistakes it sees."""

from __future__ import annotations

import functools
import itertools
import weakref
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import torch

from . import _graph, _patches, _support, checks
from ._backward import BackwardChecks
from ._clipping import ClipChecks
from ._state import _drop
from ._steps import StepChecks
from ._where import describe, name_in_frame, place_of, user_frame
from .categories import select_checks

ON_FINDING = ("warn", "raise", "collect")
_monitor_ids = itertools.count()
F = TypeVar("F", bound=Callable[..., Any])


class _StrictRef(weakref.ref):
    """A weak reference that ``_drop`` can match, as the tables' entries are."""

    __slots__ = ()

    @property
    def ref(self) -> weakref.ref:
        return self


class watch(BackwardChecks, StepChecks, ClipChecks):
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
        super().__init__(on_finding, select_checks(checks))
        frame = user_frame()
        self._created_at = place_of(frame)
        for target in targets:
            self._adopt(target, name_in_frame(target, frame), strict=True)
        if model is not None:
            self._adopt(model, name_in_frame(model, frame), strict=False)
        self.strict = bool(self._strict_ids) and _patches.HAS_TORCH_FUNCTION_MODE and _graph.HAS_METADATA
        self._key = f"autograd_lint.root.{next(_monitor_ids)}"
        self._depth = 0

    def _adopt(self, target: torch.Tensor | torch.nn.Module, name: str | None, strict: bool) -> None:
        tensors: list[tuple[str, torch.Tensor]]
        if isinstance(target, torch.nn.Module):
            prefix = name or type(target).__name__
            tensors = [(f"{prefix}.{n}", p) for n, p in target.named_parameters()]
        else:
            tensors = [(name or describe(target), target)]
        for tensor_name, tensor in tensors:
            self._names.set(tensor, tensor_name)
            if strict:
                key = id(tensor)
                self._strict_ids[key] = _StrictRef(tensor, functools.partial(_drop, self._strict_ids, key))

    # -- entering and leaving -------------------------------------------------------------------

    def __enter__(self) -> watch:
        self._depth += 1
        if self._depth > 1:
            return self
        for check, missing in _support.missing_apis(self._checks):
            _support.say_once(check, missing, stacklevel=2)
        _patches.join(self)
        try:
            self._deliver(self._watched_non_leaves(self._created_at))
        except BaseException:
            self._depth -= 1
            _patches.leave(self)
            raise
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._depth -= 1
        if self._depth:
            return
        items: list[checks.Item] = []
        try:
            self._flush_pending()
            items += self._deferred_finite_items(wait=True)
            items += self._orphan_items()
            for record in list(self._optimizers.values()):
                items += self._unused_items(record)
        finally:
            self._pending.clear()
            self._fresh = []
            _patches.leave(self)
        self._deliver(items, may_raise=exc_type is None)

    def __call__(self, func: F) -> F:
        @functools.wraps(func)
        def watched(*args: Any, **kwargs: Any) -> Any:
            with self:
                return func(*args, **kwargs)

        return watched  # type: ignore[return-value]
