"""The facts walk: one pass over the tree that records parents, imports, loops, functions, calls
and what names hold, and the order in which rules will later visit the nodes they asked for.

No rule runs during this walk. The engine hands the recorded visits to the rules only once the
facts are complete, so what a rule decides cannot depend on how far the walk had got.
"""

from __future__ import annotations

from collections.abc import Callable

import libcst as cst

from .facts import FactsBuilder, FileFacts
from .imports import ImportTable
from .semantics import PARAMETER_MAKERS, TENSOR_FACTORIES, TorchSemantics
from .syntax import child_fields, dotted_name, is_node_type, method_call, strip_data
from .tree import SyntaxTree

# A recorded visit: the node, and whether it is the leave after its children.
Visit = tuple[cst.CSTNode, bool]
# The nodes whose bodies ``walk`` skips unless asked to go into functions.
_SCOPE_TYPES = frozenset({cst.FunctionDef, cst.ClassDef, cst.Lambda})


def collect_top_level_imports(imports: ImportTable, statement: cst.CSTNode) -> None:
    """Imports at module level, also under ``if``/``try`` (``try: import torch``)."""
    if isinstance(statement, cst.SimpleStatementLine):
        for small in statement.body:
            if isinstance(small, (cst.Import, cst.ImportFrom)):
                imports.add(small)
    elif isinstance(statement, (cst.If, cst.Else, cst.Try, cst.ExceptHandler, cst.Finally)):
        for line in getattr(statement.body, "body", ()):
            collect_top_level_imports(imports, line)
        for part in (getattr(statement, "orelse", None), getattr(statement, "finalbody", None)):
            if part is not None:
                collect_top_level_imports(imports, part)
        for handler in getattr(statement, "handlers", ()):
            collect_top_level_imports(imports, handler)


def is_own_autograd_class(imports: ImportTable, statement: cst.CSTNode) -> bool:
    """A module-level class with a ``backward`` method that is not a torch
    ``autograd.Function`` or ``nn.Module``: the file's own autograd engine."""
    if not isinstance(statement, cst.ClassDef) or not isinstance(statement.body, cst.IndentedBlock):
        return False
    if any((imports.qualified(base.value) or "").startswith("torch.") for base in statement.bases):
        return False
    if any(not isinstance(base.value, cst.Name) or base.value.value != "object" for base in statement.bases):
        return False  # a subclass of something we cannot see
    return any(isinstance(s, cst.FunctionDef) and s.name.value == "backward" for s in statement.body.body)


class FactsWalk:
    """Walks the tree once; ``run`` returns the complete facts and the recorded visits."""

    def __init__(self, tree: SyntaxTree, torch: TorchSemantics, wanted: frozenset[type], wanted_leave: frozenset[type]):
        self.tree = tree
        self.torch = torch
        self.imports = torch.imports
        self.facts = FactsBuilder(own_autograd=torch.own_autograd)
        self.wanted = wanted
        self.wanted_leave = wanted_leave
        self._no_grad_with: dict[cst.With, bool] = {}
        self._called_under_no_grad: set[str] = set()
        self._called_recording: set[str] = set()
        self._instances: list[tuple[str, str]] = []  # (name, class called to make it)
        self._plain_classes: set[str] = set()
        self._derived: list[tuple[str, list[cst.BaseExpression]]] = []  # (name, arithmetic operands)

    def run(self) -> tuple[FileFacts, list[Visit]]:
        tree = self.tree
        parents, order, index, ends, scope_starts = tree.parents, tree.order, tree.index, tree.ends, tree.scope_starts
        visits: list[Visit] = []
        wanted, wanted_leave = self.wanted, self.wanted_leave
        stack: list[cst.CSTNode | None] = [tree.module]
        pending_leave: list[tuple[cst.CSTNode, int]] = []
        no_grad_depth = 0
        while stack:
            node = stack.pop()
            if node is None:  # the marker after a node's children: leave it
                node, position = pending_leave.pop()
                ends[position] = len(order)
                if type(node) in wanted_leave:
                    visits.append((node, True))
                if isinstance(node, cst.With) and self._is_no_grad_with(node):
                    no_grad_depth -= 1
                continue
            node_type = type(node)
            position = len(order)
            order.append(node)
            index[node] = position
            ends.append(position)
            if node_type in _SCOPE_TYPES:
                scope_starts.append(position)
            collector = _COLLECTORS.get(node_type)
            if collector is not None:
                collector(self, node, no_grad_depth)
            if node_type is cst.With and self._is_no_grad_with(node):  # type: ignore[arg-type]
                no_grad_depth += 1
            if node_type in wanted:
                visits.append((node, False))
            pending_leave.append((node, position))
            stack.append(None)
            kids: list[cst.CSTNode] = []
            for name in child_fields(node_type):
                value = getattr(node, name)
                value_type = type(value)
                if value_type is tuple or value_type is list:
                    kids.extend(item for item in value if is_node_type(type(item)))
                elif is_node_type(value_type):
                    kids.append(value)
            for kid in kids:
                parents[kid] = node
            kids.reverse()
            stack.extend(kids)
        return self._complete().build(), visits

    def _complete(self) -> FactsBuilder:
        """What can be said only once the whole file is seen."""
        facts = self.facts
        facts.no_grad_callees = self._called_under_no_grad - self._called_recording
        others = self.imports.other_names

        def foreign_class(cls: str) -> bool:
            imported = others.get(cls)
            return cls in self._plain_classes or (imported is not None and imported.rpartition(".")[2][:1].isupper())

        foreign = facts.foreign_names
        foreign.update(name for name, cls in self._instances if foreign_class(cls))
        if foreign:
            for name, operands in self._derived:
                if any(
                    (isinstance(o, cst.Name) and o.value in foreign)
                    or (isinstance(o, cst.Call) and isinstance(o.func, cst.Name) and foreign_class(o.func.value))
                    for o in operands
                ) and not any(isinstance(o, cst.Call) and self.imports.qualified(o.func) for o in operands):
                    foreign.add(name)
        return facts

    def _is_no_grad_with(self, node: cst.With) -> bool:
        cached = self._no_grad_with.get(node)
        if cached is None:
            cached = self._no_grad_with[node] = any(self.torch.is_no_grad(i.item) for i in node.items)
        return cached

    # --- one collector per node type that carries facts ---

    def _import(self, node: cst.Import | cst.ImportFrom, _depth: int) -> None:
        self.imports.add(node)

    def _function(self, node: cst.FunctionDef, _depth: int) -> None:
        self.facts.functions.setdefault(node.name.value, []).append(node)

    def _class(self, node: cst.ClassDef, _depth: int) -> None:
        """A class of no torch base (no base, ``object``, or another plain class of the file)."""
        plain = all(
            isinstance(base.value, cst.Name)
            and (base.value.value == "object" or base.value.value in self._plain_classes)
            for base in node.bases
        )
        if plain:
            self._plain_classes.add(node.name.value)

    def _loop(self, node: cst.For | cst.While, _depth: int) -> None:
        self.facts.loops.append(node)
        if isinstance(node, cst.For) and isinstance(node.iter, cst.Call) and _is_zip_of_parameters(node.iter):
            # `for target_p, p in zip(target.parameters(), model.parameters())`
            if isinstance(node.target, cst.Tuple):
                for element in node.target.elements:
                    name = dotted_name(element.value)
                    if name:
                        self.facts.tensor_names.add(name)
        elif isinstance(node, cst.For) and isinstance(node.iter, cst.Call):
            method = method_call(node.iter, "parameters", "named_parameters")
            if method is not None:
                target: cst.BaseExpression = node.target
                if (
                    method.attr.value == "named_parameters"
                    and isinstance(target, cst.Tuple)
                    and len(target.elements) == 2
                ):
                    target = target.elements[1].value
                name = dotted_name(target)
                if name:
                    self.facts.tensor_names.add(name)

    def _call(self, node: cst.Call, depth: int) -> None:
        facts = self.facts
        target = self.torch.backward_target(node)
        if target is not None:
            facts.backward_calls.append(node)
            name = dotted_name(target)
            if name:
                facts.backward_targets.add(name)
        func = node.func
        if type(func) is cst.Name:
            facts.calls_by_name.setdefault(func.value, []).append(node)
            (self._called_under_no_grad if depth else self._called_recording).add(func.value)
        elif type(func) is cst.Attribute and type(func.value) is cst.Name and func.value.value in ("self", "cls"):
            facts.calls_by_name.setdefault(func.attr.value, []).append(node)
            (self._called_under_no_grad if depth else self._called_recording).add(func.attr.value)

    def _assign(self, node: cst.Assign, _depth: int) -> None:
        value = node.value
        if type(value) is cst.Call and type(value.func) is cst.Name and value.func.value[:1].isupper():
            for target in node.targets:
                name = dotted_name(target.target)
                if name is not None:
                    self._instances.append((name, value.func.value))
        elif type(value) is cst.BinaryOperation:
            # `loss = Value(-4.0) * a`: arithmetic on another library's objects makes one of them.
            operands = _operands(value)
            for target in node.targets:
                name = dotted_name(target.target)
                if name is not None and operands:
                    self._derived.append((name, operands))
        kinds = self._value_kinds(value)
        if not kinds:
            return
        facts = self.facts
        tables = (
            ("tensor", facts.tensor_names),
            ("torch", facts.torch_made_names),
            ("requires_grad", facts.requires_grad_names),
            ("grad", facts.grad_aliases),
            ("optimizer", facts.optimizer_names),
        )
        for target in node.targets:
            name = dotted_name(target.target)
            if name is not None:
                for kind, table in tables:
                    if kind in kinds:
                        table.add(name)
                if "grad" in kinds:
                    owner = dotted_name(strip_data(strip_data(value).value))  # type: ignore[attr-defined]
                    if owner is not None:
                        facts.grad_owners[name] = owner

    def _value_kinds(self, value: cst.BaseExpression) -> set[str]:
        kinds: set[str] = set()
        base = value
        if isinstance(base, cst.Attribute) and base.attr.value == "data":
            base = base.value
        if isinstance(base, cst.Attribute) and base.attr.value == "grad":
            return {"grad", "tensor"}
        if not isinstance(value, cst.Call):
            return kinds
        qualified = self.imports.qualified(value.func)
        if qualified is not None:
            kinds.add("torch")
            if qualified.startswith("torch.optim.") and ".lr_scheduler" not in qualified:
                kinds.add("optimizer")
            elif qualified.endswith("GradScaler"):
                kinds.add("optimizer")
            elif qualified in TENSOR_FACTORIES or qualified in PARAMETER_MAKERS:
                kinds.add("tensor")
        if self.torch.makes_leaf_requiring_grad(value) or method_call(value, "requires_grad_") is not None:
            kinds.update(("tensor", "requires_grad"))
        return kinds


def _operands(value: cst.BaseExpression) -> list[cst.BaseExpression]:
    """The operands of nested arithmetic: ``a``, ``Value(2)`` and ``b`` for ``a * Value(2) + b``."""
    if isinstance(value, cst.BinaryOperation):
        return [*_operands(value.left), *_operands(value.right)]
    if isinstance(value, cst.UnaryOperation):
        return _operands(value.expression)
    return [value]


def _is_zip_of_parameters(call: cst.Call) -> bool:
    return (
        isinstance(call.func, cst.Name)
        and call.func.value == "zip"
        and len(call.args) >= 2
        and all(method_call(arg.value, "parameters") is not None for arg in call.args)
    )


_COLLECTORS: dict[type, Callable[[FactsWalk, cst.CSTNode, int], None]] = {
    cst.Import: FactsWalk._import,  # type: ignore[dict-item]
    cst.ImportFrom: FactsWalk._import,  # type: ignore[dict-item]
    cst.FunctionDef: FactsWalk._function,  # type: ignore[dict-item]
    cst.ClassDef: FactsWalk._class,  # type: ignore[dict-item]
    cst.For: FactsWalk._loop,  # type: ignore[dict-item]
    cst.While: FactsWalk._loop,  # type: ignore[dict-item]
    cst.Call: FactsWalk._call,  # type: ignore[dict-item]
    cst.Assign: FactsWalk._assign,  # type: ignore[dict-item]
}
