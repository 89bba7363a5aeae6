"""Autograd events in source order within a loop or function: backward, grad, step, clear, update.

A loop's events include those of the same-file functions and methods it calls (how trainer
classes stay silent). They are listed only for the loops and functions that can reach a
backward, and only once the file's facts are complete.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

import libcst as cst

from .facts import FileFacts
from .semantics import TorchSemantics
from .tree import Loop, SyntaxTree

# How many functions one loop's events may follow calls into (deep call chains are rare and slow).
MAX_INLINED_FUNCTIONS = 8


class EventKind(str, enum.Enum):
    BACKWARD = "backward"
    GRAD = "grad"  # torch.autograd.grad: gradients returned, never accumulated
    STEP = "step"
    CLEAR = "clear"
    UPDATE = "update"


@dataclass(frozen=True)
class Event:
    """Something autograd cares about. ``target`` is the loss (backward), the optimizer (step),
    the thing cleared (clear) or the updated tensor (update); ``via`` is the call in the loop
    that reached it when it sits in a called function; ``through_object`` marks a clear found in
    the method of another object (``cb.on_batch_begin()``), where the method is known by name only."""

    kind: EventKind
    node: cst.CSTNode
    target: cst.BaseExpression | None
    via: cst.Call | None = None
    through_object: bool = False

    @property
    def call(self) -> cst.Call:
        """The node of a backward, grad or step event, which is always a call."""
        if not isinstance(self.node, cst.Call):
            raise TypeError(f"a {self.kind.value} event is not a call")
        return self.node


# Exact types: parsed nodes are of libcst's concrete classes, and its ABC's isinstance is slow.
_EVENT_NODES = frozenset({cst.Call, cst.Assign, cst.AugAssign, cst.AnnAssign, cst.Del, cst.Attribute})


class LoopEvents:
    """The events of each loop and function; computed on first use, from complete facts only."""

    def __init__(self, tree: SyntaxTree, torch: TorchSemantics, facts: FileFacts) -> None:
        self.tree = tree
        self.torch = torch
        self.facts = facts
        self._loops: dict[Loop, list[Event]] = {}
        self._functions: dict[cst.FunctionDef, list[Event]] = {}
        # A node means the same in every loop and function around it: classified once.
        self._kinds: dict[cst.CSTNode, tuple[EventKind, cst.BaseExpression | None] | None] = {}

    def of_loop(self, loop: Loop) -> list[Event]:
        events = self._loops.get(loop)
        if events is None:
            found = self._events_in(loop.body, None, set()) if loop in self.backprop_region else ()
            events = self._loops[loop] = list(found)
        return events

    def of_function(self, function: cst.FunctionDef) -> list[Event]:
        events = self._functions.get(function)
        if events is None:
            found = self._events_in(function.body, None, {function}) if function in self.backprop_region else ()
            events = self._functions[function] = list(found)
        return events

    def own_backwards(self, loop: Loop) -> Iterator[tuple[int, Event]]:
        """The backward calls the loop runs itself (not a nested loop's, not a called
        function's), with their index among the loop's events."""
        for index, event in enumerate(self.of_loop(loop)):
            if event.kind is EventKind.BACKWARD and event.via is None and self.tree.enclosing_loop(event.node) is loop:
                yield index, event

    @cached_property
    def backprop_region(self) -> set[cst.CSTNode]:
        """The loops and functions that can run a backward, directly or through a call to
        a function of this file that does: only they need their events listed."""
        region: set[cst.CSTNode] = set()
        pending: list[cst.CSTNode] = list(self.facts.backward_calls)
        named: set[str] = set()
        while pending:
            for ancestor in self.tree.ancestors(pending.pop()):
                if ancestor in region:
                    break
                region.add(ancestor)
                if isinstance(ancestor, cst.FunctionDef) and ancestor.name.value not in named:
                    named.add(ancestor.name.value)
                    pending.extend(self.facts.calls_by_name.get(ancestor.name.value, ()))
        return region

    def called_functions(self, call: cst.Call) -> tuple[cst.FunctionDef, ...]:
        """Functions of this file that a call may run (by name; ``self.x()`` finds methods)."""
        func = call.func
        functions = self.facts.functions
        if isinstance(func, cst.Name):
            return functions.get(func.value, ())
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value in ("self", "cls"):
            return tuple(f for f in functions.get(func.attr.value, ()) if self.tree.is_method(f))
        return ()

    def _events_in(self, body: cst.CSTNode, via: cst.Call | None, seen: set[cst.FunctionDef]) -> Iterator[Event]:
        kinds = self._kinds
        for node in self.tree.walk(body):
            if type(node) not in _EVENT_NODES:
                continue
            if node in kinds:
                found = kinds[node]
            else:
                found = kinds[node] = self._classify(node)
            if found is not None:
                yield Event(found[0], node, found[1], via)
            elif isinstance(node, cst.Call):
                for function in self.called_functions(node):
                    if function not in seen and len(seen) < MAX_INLINED_FUNCTIONS:
                        seen.add(function)
                        yield from self._events_in(function.body, via or node, seen)
                for method in self.object_methods(node):
                    if method not in seen and len(seen) < MAX_INLINED_FUNCTIONS:
                        seen.add(method)
                        for event in self._events_in(method.body, via or node, seen):
                            if event.kind is EventKind.CLEAR:
                                yield Event(event.kind, event.node, event.target, event.via, through_object=True)

    def object_methods(self, call: cst.Call) -> tuple[cst.FunctionDef, ...]:
        """Methods of this file's classes that ``obj.m()`` may run, for an object other than ``self``
        (``cb.on_batch_begin(self)``, ``self.hooks.before_step()``, ``trainer.clear()``). Known by name
        only, so the loop takes only their clearing from them: it can silence, never report."""
        func = call.func
        if not isinstance(func, cst.Attribute):
            return ()
        receiver = func.value
        if isinstance(receiver, cst.Name) and receiver.value in ("self", "cls"):
            return ()
        methods = self.facts.functions.get(func.attr.value, ())
        return tuple(f for f in methods if self.tree.is_method(f)) if methods else ()

    def _classify(self, node: cst.CSTNode) -> tuple[EventKind, cst.BaseExpression | None] | None:
        torch = self.torch
        if isinstance(node, cst.Call):
            target = torch.backward_target(node)
            if target is not None:
                return EventKind.BACKWARD, target
            if torch.qualified(node.func) == "torch.autograd.grad":
                return EventKind.GRAD, None
            target = torch.step_target(node)
            if target is not None:
                return EventKind.STEP, target
        target = torch.clear_target(node)
        if target is not None:
            return EventKind.CLEAR, target
        target = torch.update_target(node)
        if target is not None:
            return EventKind.UPDATE, target
        return None
