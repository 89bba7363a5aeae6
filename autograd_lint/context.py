"""Per-file shared analysis, computed once during the engine's walk and read by every rule."""

from __future__ import annotations

import ast
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import libcst as cst

from .analysis import (
    NO_GRAD_CONTEXTS,
    ImportTable,
    assigned_names,
    dotted_name,
    is_true,
    keyword,
    method_call,
    terminal_name,
    walk,
)
from .finding import Applicability

if TYPE_CHECKING:
    from .rule import Rule

Loop = cst.For | cst.While
Scope = cst.Module | cst.FunctionDef
STATEMENT_TYPES = (cst.SimpleStatementLine, cst.BaseCompoundStatement)

TENSOR_FACTORIES = frozenset(
    "torch." + name
    for name in (
        "tensor randn rand randint randn_like rand_like zeros ones empty full arange linspace "
        "logspace eye zeros_like ones_like empty_like full_like from_numpy as_tensor stack cat "
        "normal randperm"
    ).split()
)
PARAMETER_MAKERS = frozenset({"torch.nn.Parameter", "torch.autograd.Variable"})


# --- pending edits: what rules ask for, turned into offsets once positions are known ---------


@dataclass(frozen=True)
class Replace:
    node: cst.CSTNode
    code: str


@dataclass(frozen=True)
class InsertStatement:
    """Insert ``lines`` (one statement each, no indentation) before or after ``anchor``,
    at ``anchor``'s indentation plus ``extra_indent`` levels."""

    anchor: cst.CSTNode
    lines: tuple[str, ...]
    after: bool = False


@dataclass(frozen=True)
class RemoveStatement:
    statement: cst.CSTNode


@dataclass(frozen=True)
class ReplaceStatement:
    """Replace a whole statement line by ``lines``: ``(extra indent levels, code)`` pairs,
    indented like the statement. A trailing comment goes on line ``comment_line``."""

    statement: cst.CSTNode
    lines: tuple[tuple[int, str], ...]
    comment_line: int = -1


PendingEdit = Replace | InsertStatement | RemoveStatement | ReplaceStatement


@dataclass(frozen=True)
class PendingFix:
    description: str
    applicability: Applicability
    edits: tuple[PendingEdit, ...]


@dataclass
class Report:
    rule: Rule
    node: cst.CSTNode
    message: str
    fix: PendingFix | None


# --- events inside one loop iteration --------------------------------------------------------


@dataclass(frozen=True)
class Event:
    """Something autograd cares about, in source order within a loop's body.

    ``kind`` is one of backward, grad, step, clear, update; ``target`` is the loss
    (backward), the optimizer (step), the thing cleared (clear) or the updated tensor.
    ``via`` is the call in the loop that reached it when it sits in a called function.
    """

    kind: str
    node: cst.CSTNode
    target: cst.BaseExpression | None
    via: cst.CSTNode | None = None


_EVENT_NODES = (cst.Call, cst.Assign, cst.AugAssign, cst.AnnAssign, cst.Del, cst.Attribute)


@dataclass
class FileContext:
    module: cst.Module
    source: str
    path: str
    imports: ImportTable = field(default_factory=ImportTable)
    parents: dict = field(default_factory=dict)
    loops: list = field(default_factory=list)
    functions: dict = field(default_factory=dict)  # name -> [FunctionDef]
    reports: list = field(default_factory=list)
    # Names (dotted text) that the file shows to be tensors, optimizers, or gradients.
    tensor_names: set = field(default_factory=set)
    torch_made_names: set = field(default_factory=set)  # assigned from a torch call
    requires_grad_names: set = field(default_factory=set)
    grad_aliases: set = field(default_factory=set)
    optimizer_names: set = field(default_factory=set)
    backward_targets: set = field(default_factory=set)
    no_grad_callees: set = field(default_factory=set)
    backward_calls: list = field(default_factory=list)
    # A class of the file's own with a backward() (micrograd-style): then `.backward()`,
    # `.data` and `.grad` may not be torch's, and only torch-made names count as tensors.
    own_autograd: bool = False
    calls_by_name: dict = field(default_factory=dict)  # callee name -> [Call]

    # --- reporting ---

    def report(self, rule: Rule, node: cst.CSTNode, message: str, fix: PendingFix | None) -> None:
        self.reports.append(Report(rule, node, message, fix))

    def torch_alias(self) -> str | None:
        """The local name bound to the ``torch`` module itself, if any (for inserted code)."""
        for local, qualified in self.imports.names.items():
            if qualified == "torch" and not local.startswith("*"):
                return local
        return None

    # --- tree navigation ---

    def parent(self, node: cst.CSTNode) -> cst.CSTNode | None:
        return self.parents.get(node)

    def ancestors(self, node: cst.CSTNode) -> Iterator[cst.CSTNode]:
        current = self.parents.get(node)
        while current is not None:
            yield current
            current = self.parents.get(current)

    def statement_of(self, node: cst.CSTNode) -> cst.CSTNode:
        """The innermost statement holding ``node`` (a line, or a compound statement's header)."""
        if isinstance(node, STATEMENT_TYPES):
            return node
        for ancestor in self.ancestors(node):
            if isinstance(ancestor, STATEMENT_TYPES):
                return ancestor
        return node

    def scope_of(self, node: cst.CSTNode) -> Scope:
        for ancestor in self.ancestors(node):
            if isinstance(ancestor, (cst.FunctionDef, cst.Module)):
                return ancestor
        return self.module

    def enclosing_loop(self, node: cst.CSTNode) -> Loop | None:
        """The innermost loop whose body (not header) runs ``node``, within the same function."""
        child = node
        for ancestor in self.ancestors(node):
            if isinstance(ancestor, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
                return None
            if isinstance(ancestor, (cst.For, cst.While)) and child is ancestor.body:
                return ancestor
            child = ancestor
        return None

    def in_no_grad(self, node: cst.CSTNode) -> bool:
        """Does ``node`` run with gradient recording off (``with torch.no_grad()``, a
        ``@torch.no_grad()`` function, or a function only called from such places)?"""
        for ancestor in self.ancestors(node):
            if isinstance(ancestor, cst.With) and any(self.is_no_grad(i.item) for i in ancestor.items):
                return True
            if isinstance(ancestor, cst.FunctionDef):
                if any(self.is_no_grad(d.decorator) for d in ancestor.decorators):
                    return True
                if ancestor.name.value in self.no_grad_callees:
                    return True
                return False
        return False

    def is_no_grad(self, expression: cst.BaseExpression) -> bool:
        if isinstance(expression, cst.Call):
            qualified = self.imports.qualified(expression.func)
            if qualified == "torch.set_grad_enabled":
                first = expression.args[0].value if expression.args else None
                return isinstance(first, cst.Name) and first.value == "False"
            return qualified in NO_GRAD_CONTEXTS
        return self.imports.qualified(expression) in NO_GRAD_CONTEXTS

    # --- what calls mean ---

    def qualified(self, expression: cst.BaseExpression) -> str | None:
        return self.imports.qualified(expression)

    def backward_target(self, call: cst.Call) -> cst.BaseExpression | None:
        """The tensor a call backpropagates from, if it is a backward call."""
        func = call.func
        if not isinstance(func, cst.Attribute):
            return None
        method = func.attr.value
        first = call.args[0].value if call.args and call.args[0].keyword is None else None
        if method == "manual_backward":
            return first
        if method != "backward" or self.own_autograd:
            return None
        if self.qualified(func) == "torch.autograd.backward":
            return first
        receiver = func.value
        receiver_name = (terminal_name(receiver) or "").lower()
        if any(word in receiver_name for word in ("accelerator", "fabric", "engine")):
            return first
        scaled = method_call(receiver, "scale")
        if scaled is not None and isinstance(receiver, cst.Call) and receiver.args:
            return receiver.args[0].value
        return receiver

    def step_target(self, call: cst.Call) -> cst.BaseExpression | None:
        """The optimizer a call steps (``opt.step()``, ``scaler.step(opt)``), if any."""
        func = method_call(call, "step")
        if func is None:
            return None
        receiver = func.value
        name = (terminal_name(receiver) or "").lower()
        if "sched" in name or name.startswith("lr") or "warmup" in name:
            return None
        if "scaler" in name:
            return call.args[0].value if call.args else receiver
        text = dotted_name(receiver)
        if "opt" in name or "solver" in name or (text is not None and text in self.optimizer_names):
            return receiver
        return None

    def clear_target(self, node: cst.CSTNode) -> cst.BaseExpression | None:
        """What a node clears the gradients of: ``m.zero_grad()``, ``p.grad = None``,
        ``del p.grad``, ``p.grad.zero_()``, ``p.grad.data.fill_(0)``; else ``None``."""
        if isinstance(node, cst.Attribute):
            # `optimizer.zero_grad` handed over uncalled, to a hook or a helper.
            parent = self.parents.get(node)
            called = isinstance(parent, cst.Call) and parent.func is node
            return node.value if node.attr.value == "zero_grad" and not called else None
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
            method = node.func.attr.value
            if method == "zero_grad":
                return node.func.value
            receiver = _strip_data(node.func.value)
            if isinstance(receiver, cst.Attribute) and receiver.attr.value == "grad":
                if method == "zero_" or (method in ("fill_", "mul_") and _zero_argument(node)):
                    return receiver.value
            return None
        targets: Sequence[cst.BaseExpression] = ()
        if isinstance(node, cst.AugAssign) and isinstance(node.operator, cst.MultiplyAssign):
            if _is_zero(node.value) and isinstance(node.target, cst.Attribute) and node.target.attr.value == "grad":
                return node.target.value
        elif isinstance(node, cst.Assign):
            targets = [t.target for t in node.targets]
        elif isinstance(node, (cst.AnnAssign, cst.Del)):
            targets = [node.target]
        for target in targets:
            if isinstance(target, cst.Attribute) and target.attr.value == "grad":
                return target.value
        return None

    def mentions_grad(self, node: cst.CSTNode) -> bool:
        for inner in walk(node):
            if isinstance(inner, cst.Attribute) and inner.attr.value == "grad":
                return True
            if isinstance(inner, cst.Name) and inner.value in self.grad_aliases:
                return True
        return False

    def update_target(self, node: cst.CSTNode) -> cst.BaseExpression | None:
        """The tensor a statement part updates from its gradient (``p -= lr * p.grad``,
        ``p.data.sub_(lr * g)``, ``p.add_(p.grad, alpha=-lr)``, ``p.data = ...``)."""
        if isinstance(node, cst.AugAssign):
            target = node.target
            if self.mentions_grad(node.value):
                return _strip_data(target)
            return None
        if isinstance(node, cst.Assign):
            for t in node.targets:
                target = t.target
                if isinstance(target, cst.Attribute) and target.attr.value == "data" and self.mentions_grad(node.value):
                    return target.value
                if isinstance(target, cst.Name) and self.mentions_grad(node.value):
                    own = dotted_name(target)
                    if any(
                        isinstance(n, cst.Attribute) and n.attr.value == "grad" and dotted_name(n.value) == own
                        for n in walk(node.value)
                    ):
                        return target
            return None
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
            method = node.func.attr.value
            if (
                method.endswith("_")
                and not method.startswith("_")
                and method not in ("zero_", "requires_grad_", "detach_")
            ):
                receiver = node.func.value
                if isinstance(receiver, cst.Attribute) and receiver.attr.value == "grad":
                    return None
                if any(self.mentions_grad(arg.value) for arg in node.args):
                    return _strip_data(receiver)
        return None

    # --- loops ---

    def loop_events(self, loop: Loop) -> list[Event]:
        cache = self.__dict__.setdefault("_events", {})
        if loop not in cache:
            events = self._events_in(loop.body, via=None, seen=set()) if loop in self.backprop_region else ()
            cache[loop] = list(events)
        return cache[loop]

    def own_backwards(self, loop: Loop) -> Iterator[tuple[int, Event]]:
        """The backward calls the loop runs itself (not a nested loop's, not a called
        function's), with their index among the loop's events."""
        for index, event in enumerate(self.loop_events(loop)):
            if event.kind == "backward" and event.via is None and self.enclosing_loop(event.node) is loop:
                yield index, event

    def function_events(self, function: cst.FunctionDef) -> list[Event]:
        cache = self.__dict__.setdefault("_function_events", {})
        if function not in cache:
            events = (
                self._events_in(function.body, via=None, seen={function}) if function in self.backprop_region else ()
            )
            cache[function] = list(events)
        return cache[function]

    @cached_property
    def backprop_region(self) -> set:
        """The loops and functions that can run a backward, directly or through a call to
        a function of this file that does: only they need their events listed."""
        region: set = set()
        pending = list(self.backward_calls)
        named: set = set()
        while pending:
            for ancestor in self.ancestors(pending.pop()):
                if ancestor in region:
                    break
                region.add(ancestor)
                if isinstance(ancestor, cst.FunctionDef) and ancestor.name.value not in named:
                    named.add(ancestor.name.value)
                    pending.extend(self.calls_by_name.get(ancestor.name.value, ()))
        return region

    def _events_in(self, body: cst.CSTNode, via: cst.CSTNode | None, seen: set) -> Iterator[Event]:
        for node in walk(body):
            if not isinstance(node, _EVENT_NODES):
                continue
            found = self._classify(node)
            if found is not None:
                yield Event(found[0], node, found[1], via)
            elif isinstance(node, cst.Call):
                for function in self.called_functions(node):
                    if function not in seen and len(seen) < 8:
                        seen.add(function)
                        yield from self._events_in(function.body, via or node, seen)

    def _classify(self, node: cst.CSTNode) -> tuple[str, cst.BaseExpression | None] | None:
        """The event a node is, with its target: backward, grad, step, clear or update."""
        if isinstance(node, cst.Call):
            target = self.backward_target(node)
            if target is not None:
                return "backward", target
            if self.qualified(node.func) == "torch.autograd.grad":
                return "grad", None
            target = self.step_target(node)
            if target is not None:
                return "step", target
        for kind, find in (("clear", self.clear_target), ("update", self.update_target)):
            target = find(node)
            if target is not None:
                return kind, target
        return None

    def called_functions(self, call: cst.Call) -> list[cst.FunctionDef]:
        """Functions of this file that a call may run (by name; ``self.x()`` finds methods)."""
        func = call.func
        if isinstance(func, cst.Name):
            return self.functions.get(func.value, [])
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value in ("self", "cls"):
            return [f for f in self.functions.get(func.attr.value, []) if self.is_method(f)]
        return []

    def is_method(self, function: cst.FunctionDef) -> bool:
        parent = self.parents.get(function)
        while parent is not None and not isinstance(parent, (cst.ClassDef, cst.FunctionDef, cst.Module)):
            parent = self.parents.get(parent)
        return isinstance(parent, cst.ClassDef)

    def names_bound_in(self, node: cst.CSTNode) -> set[str]:
        """Names that code in ``node`` binds (assignments, loop targets, ``with ... as``)."""
        bound: set[str] = set()
        for inner in walk(node):
            if isinstance(inner, cst.Assign):
                for t in inner.targets:
                    bound.update(assigned_names(t.target))
            elif isinstance(inner, (cst.AugAssign, cst.AnnAssign)):
                bound.update(assigned_names(inner.target))
            elif isinstance(inner, cst.For):
                bound.update(assigned_names(inner.target))
            elif isinstance(inner, cst.WithItem) and inner.asname is not None:
                bound.update(assigned_names(inner.asname.name))
            elif isinstance(inner, cst.NamedExpr):
                bound.update(assigned_names(inner.target))
            elif isinstance(inner, cst.Del):
                bound.update(assigned_names(inner.target))
        return bound

    def assignment_before(self, name: str, loop: Loop) -> cst.BaseExpression | None:
        """The value last assigned to ``name`` in the loop's scope before the loop starts."""
        scope = self.scope_of(loop)
        found: cst.BaseExpression | None = None
        for node in walk(scope.body if isinstance(scope, cst.FunctionDef) else scope):
            if node is loop:
                return found
            if isinstance(node, cst.Assign) and any(name in assigned_names(t.target) for t in node.targets):
                found = node.value
            elif isinstance(node, (cst.AugAssign, cst.AnnAssign)) and name in assigned_names(node.target):
                found = node.value
        return None

    def is_tensor(self, expression: cst.BaseExpression) -> bool:
        """Is there evidence in this file that ``expression`` holds a tensor?"""
        if isinstance(expression, cst.Attribute) and expression.attr.value in ("grad", "weight", "bias"):
            return True
        text = dotted_name(expression)
        if text is None:
            return isinstance(expression, cst.Call) and self.qualified(expression.func) in TENSOR_FACTORIES
        if self.own_autograd:
            return text in self.requires_grad_names or text in self.torch_made_names
        if text in self.tensor_names or text in self.grad_aliases or text in self.backward_targets:
            return True
        last = text.rsplit(".", 1)[-1].lower()
        return "loss" in last


def _is_zero(node: cst.BaseExpression) -> bool:
    if not isinstance(node, (cst.Integer, cst.Float)):
        return False
    try:
        return ast.literal_eval(node.value) == 0
    except (ValueError, SyntaxError):
        return False


def _zero_argument(call: cst.Call) -> bool:
    return bool(call.args) and _is_zero(call.args[0].value)


def _strip_data(node: cst.BaseExpression) -> cst.BaseExpression:
    if isinstance(node, cst.Attribute) and node.attr.value == "data":
        return node.value
    return node


def call_makes_leaf_requiring_grad(context: FileContext, call: cst.Call) -> bool:
    """``torch.randn(3, requires_grad=True)``, ``nn.Parameter(...)``, ``Variable(t, requires_grad=True)``."""
    qualified = context.qualified(call.func)
    if qualified == "torch.nn.Parameter":
        flag = keyword(call, "requires_grad")
        return flag is None or not (isinstance(flag.value, cst.Name) and flag.value.value == "False")
    flag = keyword(call, "requires_grad")
    return (
        flag is not None
        and is_true(flag.value)
        and (
            qualified in TENSOR_FACTORIES
            or qualified in PARAMETER_MAKERS
            or qualified is None
            or (qualified or "").startswith("torch.")
        )
    )
