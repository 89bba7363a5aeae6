"""``watch``: runs code with autograd under observation and reports the mistakes it sees.

What is checked when (the constants are in ``checks``). A small net's step takes well under a
millisecond, so a monitor that walked every graph and looked at every parameter at every
backward and step would double it; most checks therefore sample:

- Every backward, step and clip is checked in full for the first ``SAMPLE_FIRST_BACKWARDS`` (64)
  backward calls of a monitor, then ``SAMPLE_WINDOW`` (12) backward calls in a row out of every
  ``SAMPLE_EVERY`` (256), each with the steps, clips and ``.data`` writes that follow it. Checked
  this way: AGL001 stale graph, AGL002 missing zero_grad, AGL006 kept graphs, AGL007 moved leaf,
  AGL016 clip outside backward/step, AGL017 clip before unscale, AGL103 leaf no optimizer holds.
  Recall holds because each of these is a property of the loop's code, not of one iteration's
  data: a loss built once, a missing ``zero_grad()``, a clip after ``step()``, a layer left out of
  the optimizer happen again on every iteration, at the same line, so a window of twelve
  backward calls (several iterations, even of a GAN or of gradient accumulation) sees them and
  reports them at that line. Unsampled backward calls cost a counter: no graph walk, no look at
  any parameter. A window starts afresh (``_base.MonitorBase._reprime``): gradients it did not
  see being made count as the user's own, so a sound loop stays silent however the window falls;
  AGL103's "consecutive updates" count the sampled ones.
- AGL101 non-finite gradient keeps its own schedule on every step, sampled or not: every step for
  the first 16, then every 8th, and the step after a backward from a non-finite CPU loss. A NaN
  that reaches the weights stays there, so a later scan still sees it.
- AGL102 unused parameter counts every step, and drops a parameter from its suspects on any step
  that sees it with a gradient (in a sound loop the suspects are gone after the first step).
- Strict monitors (``watch(model, x)``) record every use of their tensors anyway, and check every
  backward: no sampling.

No step waits on an accelerator: AGL101 copies its verdict back without waiting, and the
non-finite-loss read is of CPU scalars only. The one read left is in a sampled window, when a
gradient the monitor saw was changed in place since (``zero_grad(set_to_none=False)``): whether it
is all zeros tells a cleared gradient from a stale one.
"""

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
        self._samples = not self._strict_ids
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
        # What happened outside the watch went unseen: the next sampled backward looks afresh.
        # (A strict monitor counts every update through its tensors' uses: it carries on instead.)
        self._live = not self._backward_count or not self._samples
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
