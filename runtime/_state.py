"""What the monitor remembers about each leaf, graph root and optimizer: plain records, no torch calls."""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import Any

from torch.utils.weak import WeakIdKeyDictionary

from ._where import Place


@dataclass
class LeafState:
    """One leaf tensor (a parameter, usually), as seen from backward calls and updates."""

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
    pending_since: int = 0

    def epoch(self) -> int:
        # A WGAN's weight clipping or a manual weight decay changes an optimized parameter without
        # making its gradient stale: for those, only steps count.
        return self.steps if self.stepped else self.updates


class RootRecord:
    """Lives in a graph root's ``metadata``, so it dies with the graph: a weakref to it tells whether the graph does."""

    __slots__ = ("place", "last_backward", "leaves", "uses", "__weakref__")

    def __init__(self, place: Place, leaves: list[tuple[weakref.ref, int | None]], uses: list[Any]):
        self.place = place
        self.last_backward = 0
        self.leaves = leaves
        self.uses = uses


@dataclass
class OptimizerRecord:
    first_step: Place
    steps: int = 0
    had_grad: WeakIdKeyDictionary = field(default_factory=WeakIdKeyDictionary)
    unused_reported: bool = False


@dataclass
class PendingAlias:
    """A ``.data`` alias handed out and not yet checked for in-place changes.

    The alias shares the tensor's storage, not its version counter; it is held only until the next
    backward or step (or until the tensor dies), so the check costs no lasting memory.
    """

    tensor: weakref.ref
    alias: Any
    version: int
    seq: int | None
    place: Place
