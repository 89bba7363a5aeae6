"""Reading an autograd graph: which leaves it reaches, and when the nodes using them were built.

Sequence numbers order node creation within a thread; ``Node._sequence_nr`` and
``torch._C._autograd._get_sequence_nr`` are private, so both are feature-detected: without
them the stale-graph check is skipped (and says so) rather than guessed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

with torch.enable_grad():
    _probe: Any = torch.zeros(1, requires_grad=True).view(1).grad_fn
_ACCUMULATE_GRAD = type(_probe.next_functions[0][0])
HAS_SEQUENCE_NR = hasattr(_probe, "_sequence_nr")
HAS_METADATA = hasattr(_probe, "metadata")
del _probe

_peek: Callable[[], int] | None = getattr(torch._C._autograd, "_get_sequence_nr", None)
if not HAS_SEQUENCE_NR:
    _peek = None

USES_KEY = "autograd_lint.uses"

# grad_fn names of a move or cast: what turns a fresh requires_grad tensor into a non-leaf.
MOVE_OR_CAST = frozenset({"ToCopyBackward0", "_ToCopyBackward0", "CopyBackwards", "ToCopyBackward"})
_is_cast_type: dict[type, bool] = {}


def can_order_nodes() -> bool:
    return HAS_SEQUENCE_NR and _peek is not None


def next_sequence_nr() -> int | None:
    """The number the next node built on this thread will get; every existing node has a smaller one."""
    return _peek() if _peek is not None else None


def is_accumulate_grad(node: Any) -> bool:
    return type(node) is _ACCUMULATE_GRAD


class Walk:
    """What one walk from a root found.

    ``leaves``: ``id -> [leaf, oldest use, newest use]`` (sequence numbers of the nodes that use
    it; the oldest is what a stale graph hides behind a newer use, the newest is all that can be
    trusted when nodes were built on other threads: a CUDA double backward numbers its nodes by
    its worker thread's own counter). ``casts``: ``(cast node, leaf)`` for each move or cast of a
    leaf. ``uses``: the records strict mode left in node metadata.
    """

    __slots__ = ("leaves", "casts", "uses")

    def __init__(self) -> None:
        self.leaves: dict[int, list[Any]] = {}
        self.casts: list[tuple[Any, torch.Tensor]] = []
        self.uses: list[Any] = []


def walk(root: Any, read_uses: bool) -> Walk:
    found = Walk()
    leaves = found.leaves
    ordered = HAS_SEQUENCE_NR
    # Holding each node keeps its Python wrapper, and so its id, alive until the walk ends.
    seen = {id(root): root}
    stack = [root]
    while stack:
        node = stack.pop()
        seq = node._sequence_nr() if ordered else None
        if read_uses:
            recorded = node.metadata.get(USES_KEY)
            if recorded:
                found.uses.extend(recorded.items())
        for next_node, _ in node.next_functions:
            if next_node is None:
                continue
            if type(next_node) is _ACCUMULATE_GRAD:
                leaf = next_node.variable
                entry = leaves.get(id(leaf))
                if entry is None:
                    leaves[id(leaf)] = [leaf, seq, seq]
                elif seq is not None:
                    if seq < entry[1]:
                        entry[1] = seq
                    elif seq > entry[2]:
                        entry[2] = seq
                node_type = type(node)
                cast = _is_cast_type.get(node_type)
                if cast is None:
                    cast = _is_cast_type[node_type] = node_type.__name__ in MOVE_OR_CAST
                if cast:
                    found.casts.append((node, leaf))
            elif id(next_node) not in seen:
                seen[id(next_node)] = next_node
                stack.append(next_node)
    return found
