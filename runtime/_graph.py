"""Reading an autograd graph: which leaves it reaches, and when the nodes using them were built.

Sequence numbers order node creation within a thread; ``Node._sequence_nr`` and
``torch._C._autograd._get_sequence_nr`` are private, so both are feature-detected: without
them the stale-graph check is skipped rather than guessed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

with torch.enable_grad():
    _probe = torch.zeros(1, requires_grad=True).view(1).grad_fn
_ACCUMULATE_GRAD = type(_probe.next_functions[0][0])
HAS_SEQUENCE_NR = hasattr(_probe, "_sequence_nr")
HAS_METADATA = hasattr(_probe, "metadata")
del _probe

_peek: Callable[[], int] | None = getattr(torch._C._autograd, "_get_sequence_nr", None)
if not HAS_SEQUENCE_NR:
    _peek = None

USES_KEY = "autograd_lint.uses"


def next_sequence_nr() -> int | None:
    """The number the next node built on this thread will get; every existing node has a smaller one."""
    return _peek() if _peek is not None else None


def is_accumulate_grad(node: Any) -> bool:
    return type(node) is _ACCUMULATE_GRAD


def leaves_of(root: Any, read_uses: bool) -> tuple[list[tuple[torch.Tensor, int | None]], list[Any]]:
    """Each leaf ``root`` reaches, with the sequence number of the newest node that uses it.

    The newest, not the oldest: nodes a backward builds on CUDA worker threads (double backward)
    are numbered by that thread's own counter, and may look old.
    With ``read_uses``, also the use records that strict mode left in node metadata.
    """
    newest_use: dict[int, list[Any]] = {}
    uses: list[Any] = []
    seen = {id(root): root}
    stack = [root]
    while stack:
        node = stack.pop()
        seq = node._sequence_nr() if HAS_SEQUENCE_NR else None
        if read_uses:
            recorded = node.metadata.get(USES_KEY)
            if recorded:
                uses.extend(recorded.items())
        for next_node, _ in node.next_functions:
            if next_node is None:
                continue
            if type(next_node) is _ACCUMULATE_GRAD:
                leaf = next_node.variable
                entry = newest_use.get(id(leaf))
                if entry is None:
                    newest_use[id(leaf)] = [leaf, seq]
                elif seq is not None and seq > entry[1]:
                    entry[1] = seq
            elif id(next_node) not in seen:
                seen[id(next_node)] = next_node
                stack.append(next_node)
    return [(leaf, seq) for leaf, seq in newest_use.values()], uses
