"""What the monitor remembers about each leaf, graph root and optimizer: plain records, no torch calls.

Tables are plain dicts keyed by ``id()`` whose entries hold a weak reference with a callback that
drops them: a lookup is one dict access and an identity test, where ``WeakIdKeyDictionary``
builds a weak reference on every lookup (a third of the monitor's cost on a small net).
"""

from __future__ import annotations

import functools
import weakref
from dataclasses import dataclass, field
from typing import Any

from ._where import Place


@dataclass(slots=True)
class LeafState:
    """One leaf tensor (a parameter, usually), as seen from backward calls and updates."""

    ref: weakref.ref
    seen_version: int
    seen_seq: int | None
    updates: int = 0  # every update, however it was made
    steps: int = 0  # optimizer steps only
    stepped: bool = False  # once an optimizer owns it, only its steps start a new gradient epoch
    update_seq: int = -1  # sequence number no later than the last update
    update_how: str = ""
    grad_ref: weakref.ref | None = None  # the .grad tensor as the last backward left it
    grad_version: int = -1
    grad_since: int = 0  # epoch of the oldest contribution in that .grad
    grad_epoch: int = -1  # epoch of the newest contribution (the last backward into it)
    pending_since: int = 0
    cast_checked: bool = False  # a move or cast of it was looked at (AGL007)
    fresh_mark: int = -1  # the optimizer-step count at which it was last listed as fresh
    unowned_run: int = 0  # consecutive updates it got a gradient while no optimizer held it
    unowned_last: int = -10
    unowned_reported: bool = False

    def epoch(self) -> int:
        # A WGAN's weight clipping or a manual weight decay changes an optimized parameter without
        # making its gradient stale: for those, only steps count.
        return self.steps if self.stepped else self.updates


def _drop(table: dict, key: int, ref: weakref.ref) -> None:
    entry = table.get(key)
    if entry is not None and entry.ref is ref:
        del table[key]


class LeafTable:
    """``LeafState`` per live tensor; an entry goes when its tensor does."""

    __slots__ = ("_states",)

    def __init__(self) -> None:
        self._states: dict[int, LeafState] = {}

    def __len__(self) -> int:
        return len(self._states)

    def states(self) -> list[LeafState]:
        return list(self._states.values())

    def peek(self, tensor: Any) -> LeafState | None:
        state = self._states.get(id(tensor))
        return state if state is not None and state.ref() is tensor else None

    def get(self, tensor: Any, seq: int | None) -> LeafState:
        state = self._states.get(id(tensor))
        if state is not None and state.ref() is tensor:
            return state
        key = id(tensor)
        state = LeafState(weakref.ref(tensor, functools.partial(_drop, self._states, key)), tensor._version, seq)
        self._states[key] = state
        return state


@dataclass(slots=True)
class _Named:
    ref: weakref.ref
    name: str


class NameTable:
    """What the user calls a tensor, learned while their frame still held it."""

    __slots__ = ("_names",)

    def __init__(self) -> None:
        self._names: dict[int, _Named] = {}

    def get(self, tensor: Any) -> str | None:
        entry = self._names.get(id(tensor))
        return entry.name if entry is not None and entry.ref() is tensor else None

    def set(self, tensor: Any, name: str) -> None:
        key = id(tensor)
        self._names[key] = _Named(weakref.ref(tensor, functools.partial(_drop, self._names, key)), name)


class RootRecord:
    """Lives in a graph root's ``metadata``, so it dies with the graph: a weakref to it tells whether the graph does."""

    __slots__ = ("place", "last_backward", "leaves", "uses", "casts", "__weakref__")

    def __init__(
        self,
        place: Place,
        leaves: list[Any],
        uses: list[Any],
        casts: list[tuple[Any, weakref.ref]],
    ):
        self.place = place
        self.last_backward = 0
        self.leaves = leaves  # (leaf, oldest use, newest use)
        self.uses = uses
        self.casts = casts


@dataclass(slots=True)
class OptimizerRecord:
    """One live optimizer. Dropped when the optimizer dies: a fresh optimizer per batch costs nothing lasting."""

    ref: weakref.ref
    kind: str  # type name, for messages
    first_step: Place
    steps: int = 0
    # The parameter list as of the last step, with each one's state: rebuilt only when the param
    # groups change, so a step looks up no table.
    signature: tuple = ()
    params: list[tuple[Any, LeafState]] = field(default_factory=list)
    param_ids: frozenset[int] = frozenset()
    never_grad: dict[int, Any] = field(default_factory=dict)  # parameters no step has seen a gradient for
    unused_reported: bool = False


@dataclass(slots=True)
class PendingAlias:
    """A ``.data`` alias handed out and not yet checked for in-place changes.

    The alias shares the tensor's storage, not its version counter; it is held only until the next
    backward or step (or until the tensor dies), so the check costs no lasting memory.
    """

    ref: weakref.ref
    alias: Any
    version: int
    seq: int | None
    place: Place
