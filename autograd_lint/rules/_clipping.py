"""Gradient clipping in the order of one iteration: what ran before a clip and what runs after.

A loop body is a cycle: what follows the last statement is the first one of the next
iteration, so a clip at the top of the body comes after the previous iteration's backward.
A function body is read once, top to bottom. Events in a branch that excludes the clip's own
(`if`/`else`) or in a block that leaves the iteration (`continue`, `return`) do not count.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from ..context import FileContext
from ..events import Event, EventKind
from ..syntax import terminal_name
from ..tree import Loop, SyntaxTree

CLIP_FUNCTIONS = frozenset({"clip_grad_norm_", "clip_grad_value_", "clip_grad_norm", "clip_grad_value"})
_EXITS = (cst.Continue, cst.Break, cst.Return, cst.Raise)
ORDERING = (EventKind.BACKWARD, EventKind.STEP, EventKind.CLEAR)


def is_clip(call: cst.Call) -> bool:
    return terminal_name(call.func) in CLIP_FUNCTIONS


@dataclass(frozen=True)
class Placed:
    """An event at its place in the scope's body (a called function's events at the call)."""

    event: Event
    position: int
    anchor: cst.CSTNode  # the node in the body: the event's own, or the call that reached it


class Iteration:
    """The events of one loop body (cyclic) or function body (read once), in order."""

    def __init__(self, context: FileContext, scope: Loop | cst.FunctionDef) -> None:
        self.context = context
        self.scope = scope
        self.cyclic = isinstance(scope, (cst.For, cst.While))
        self.positions: dict[cst.CSTNode, int] = {node: i for i, node in enumerate(context.tree.walk(scope.body))}
        events = context.events.of_loop(scope) if self.cyclic else context.events.of_function(scope)  # type: ignore[arg-type]
        self.events: list[Placed] = []
        for event in events:
            anchor = event.via or event.node
            position = self.positions.get(anchor)
            if position is not None and event.kind in ORDERING:
                self.events.append(Placed(event, position, anchor))

    def around(self, node: cst.CSTNode) -> tuple[Placed | None, Placed | None]:
        """The events that ran last before ``node`` and run first after it, in the same
        iteration or, in a loop, across the wrap into the next one."""
        position = self.positions[node]
        relevant = [p for p in self.events if self._counts_for(p, node)]
        before = [p for p in relevant if p.position < position]
        after = [p for p in relevant if p.position > position]
        if self.cyclic:  # the previous iteration's tail runs before, the next one's head after
            before = after + before
            after = before
        return (before[-1] if before else None), (after[0] if after else None)

    def calls_between(self, start: int, end: int, method: str) -> list[cst.Call]:
        """Calls ``x.<method>(...)`` in the body from position ``start`` to ``end`` (wrapping in a loop)."""
        found = []
        for node, position in self.positions.items():
            inside = start < position < end if start < end else (position > start or position < end)
            if (
                inside
                and isinstance(node, cst.Call)
                and isinstance(node.func, cst.Attribute)
                and node.func.attr.value == method
            ):
                found.append(node)
        return found

    def _counts_for(self, placed: Placed, node: cst.CSTNode) -> bool:
        """Does the event run on the same path through the body as ``node``?"""
        tree = self.context.tree
        ancestors_of_node = set(tree.ancestors(node))
        child: cst.CSTNode = placed.anchor
        for ancestor in tree.ancestors(placed.anchor):
            if ancestor in ancestors_of_node:
                if isinstance(ancestor, cst.If) and child is not ancestor.test:
                    return _side(ancestor, child) == _side(ancestor, _child_towards(tree, node, ancestor))
                return True
            if isinstance(ancestor, (cst.If, cst.Else)) and _leaves(tree, ancestor.body):
                return False
            child = ancestor
        return True


def _side(branch: cst.If, child: cst.CSTNode) -> str:
    return "body" if child is branch.body else "orelse" if child is branch.orelse else "test"


def _child_towards(tree, node: cst.CSTNode, ancestor: cst.CSTNode) -> cst.CSTNode:
    child = node
    for parent in tree.ancestors(node):
        if parent is ancestor:
            return child
        child = parent
    return child


def _leaves(tree: SyntaxTree, block: cst.BaseSuite) -> bool:
    return any(isinstance(n, _EXITS) for n in tree.walk(block))


def scaler_of(backward: Event) -> cst.BaseExpression | None:
    """``scaler`` for ``scaler.scale(loss).backward()``."""
    node = backward.node
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
        receiver = node.func.value
        if isinstance(receiver, cst.Call) and isinstance(receiver.func, cst.Attribute):
            if receiver.func.attr.value == "scale":
                return receiver.func.value
    return None


def iteration_of(context: FileContext, clip: cst.Call, cache: dict[cst.CSTNode, Iteration]) -> Iteration | None:
    """The innermost loop or function around the clip that backpropagates, steps or clears
    (a loop over parameter groups around the clip alone is looked through)."""
    tree = context.tree
    node: cst.CSTNode = clip
    while True:
        scope: Loop | cst.FunctionDef | None = tree.enclosing_loop(node) or tree.enclosing_function(node)
        if scope is None:
            return None
        iteration = cache.get(scope)
        if iteration is None:
            iteration = cache[scope] = Iteration(context, scope)
        if iteration.events or isinstance(scope, cst.FunctionDef):
            return iteration
        node = scope
