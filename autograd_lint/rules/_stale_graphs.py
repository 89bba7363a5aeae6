"""Could a graph recorded before an in-place update be backpropagated after it?

``w.data.sub_(...)`` changes ``w`` behind autograd's back; ``w.sub_(...)`` under ``no_grad``
bumps ``w``'s version, so a backward through a graph that saved the old ``w`` now raises. A fix
that trades one for the other may be offered only where the file shows that cannot happen:
a backward that runs later in the same pass goes through a graph built after the update, every
backward that runs again (the next iteration of an enclosing loop, the next call of the
function) goes through a graph built afresh before it, no backward keeps its graph
(``retain_graph``, ``create_graph``), and a function's update is proved at each of its calls in
the file. What the file cannot show (a
caller elsewhere, a callback) is not proved, and gets no fix."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import libcst as cst

from ..context import FileContext
from ..semantics import TENSOR_FACTORIES
from ..syntax import assigned_names, children, dotted_name, keyword, names_bound_in, names_in, walk

Repeated = cst.For | cst.While | cst.FunctionDef  # bodies that run again: a loop's, a function's
Root = Repeated | cst.Module
_BLOCKS = (cst.IndentedBlock, cst.SimpleStatementSuite, cst.Module)
_DEPTH = 8  # how far a proof follows calls and assignments before it gives up (and refuses)
_AUTOGRAD_CALLS = frozenset({"torch.autograd.grad", "torch.autograd.backward"})


class StaleGraphs:
    """The proofs for one file (made when a fix first asks, after the facts are complete)."""

    def __init__(self, context: FileContext) -> None:
        self.context = context
        module = context.module
        self.functions: dict[str, list[cst.FunctionDef]] = {}
        for node in walk(module, into_functions=True):
            if isinstance(node, cst.FunctionDef):
                self.functions.setdefault(node.name.value, []).append(node)
        self.backprop_functions = self._backprop_functions()
        self.keeps_graphs = any(
            self._keeps_graph(node) for node in walk(module, into_functions=True) if isinstance(node, cst.Call)
        )
        self._cache: dict[int, bool] = {}
        self._bound_names: dict[int, set[str]] = {}

    # --- which calls backpropagate ---

    def _direct_backprop(self, call: cst.Call) -> bool:
        func = call.func
        if isinstance(func, cst.Attribute) and func.attr.value in ("backward", "manual_backward"):
            return True  # any receiver: a framework's `accelerator.backward(loss)` included
        return self.context.imports.qualified(func) in _AUTOGRAD_CALLS

    def _backprop_functions(self) -> frozenset[str]:
        """Functions of the file that backpropagate, directly or through each other."""
        found: set[str] = set()
        changed = True
        while changed:
            changed = False
            for name, definitions in self.functions.items():
                if name not in found and any(
                    self._backpropagates(call, found) for d in definitions for call in _calls(d.body)
                ):
                    found.add(name)
                    changed = True
        return frozenset(found)

    def _backpropagates(self, call: cst.Call, functions: set[str] | frozenset[str] | None = None) -> bool:
        """A backward, or a call of (or handing over, as a closure) a function that runs one."""
        functions = self.backprop_functions if functions is None else functions
        if self._direct_backprop(call):
            return True
        if _called_name(call) in functions:
            return True
        return any(isinstance(arg.value, cst.Name) and arg.value.value in functions for arg in call.args)

    def _keeps_graph(self, call: cst.Call) -> bool:
        if not self._direct_backprop(call):
            return False
        return any(
            (flag := keyword(call, name)) is not None
            and not (isinstance(flag.value, cst.Name) and flag.value.value == "False")
            for name in ("retain_graph", "create_graph")
        )

    # --- the proof ---

    def update_unobserved(self, node: cst.CSTNode) -> bool:
        """Is no graph recorded before ``node`` (an update, or a call of a function holding
        one) backpropagated after it?"""
        return self._unobserved(node, 0)

    def _unobserved(self, node: cst.CSTNode, depth: int) -> bool:
        key = id(node)
        if key not in self._cache:
            self._cache[key] = False  # a call cycle proves nothing
            self._cache[key] = self._prove(node, depth)
        return self._cache[key]

    def _prove(self, node: cst.CSTNode, depth: int) -> bool:
        if self.keeps_graphs or depth > _DEPTH:
            return False
        scope = self.context.tree.scope_of(node)
        after, again = self._regions(node, scope)
        for call in (call for later in after for call in _calls(later)):
            if self._backpropagates(call) and not self._built_after(call, after, scope, depth):
                return False  # a later backward in the same pass, through a graph that may predate the update
        for root in again:
            for call in _calls(root.body):
                if self._backpropagates(call) and not self._fresh(call, root, depth):
                    return False
        if isinstance(scope, cst.Module):
            return True
        # A function: its update must hold wherever it is called, and the file must show every call
        # (an optimizer's `step()` called from elsewhere: the caller's graphs are out of sight).
        name = scope.name.value
        callers = self.context.facts.calls_by_name.get(name, ())
        if not callers or self._referenced_otherwise(name, len(callers)):
            return False
        return all(self._unobserved(call, depth + 1) for call in callers)

    def _built_after(self, call: cst.Call, after: list[cst.CSTNode], scope: Root, depth: int) -> bool:
        """Does a backward that follows the update go through a graph built wholly after it (or
        from values that carry no graph: numbers, tensors fresh from a torch factory)?"""
        if self._calls_function(call):
            return self._fresh(call, scope, depth)
        target = self._target(call)
        return target is not None and self._defined_before(target, call, scope, depth, after=after)

    def _graph_free(self, value: cst.BaseExpression | None) -> bool:
        if isinstance(value, (cst.Integer, cst.Float, cst.SimpleString)):
            return True
        return isinstance(value, cst.Call) and self.context.imports.qualified(value.func) in TENSOR_FACTORIES

    def _inside(self, node: cst.CSTNode, container: cst.CSTNode) -> bool:
        return any(ancestor is container for ancestor in self.context.tree.ancestors(node))

    def _calls_function(self, call: cst.Call) -> bool:
        return _called_name(call) in self.backprop_functions and not self._direct_backprop(call)

    def _regions(
        self, node: cst.CSTNode, scope: cst.FunctionDef | cst.Module
    ) -> tuple[list[cst.CSTNode], list[Repeated]]:
        """What runs after ``node`` in the same pass (what follows it at every level: later
        arguments, statements, a compound statement's body after its header), and the bodies
        that run again after it (enclosing loops, the function itself)."""
        after: list[cst.CSTNode] = []
        again: list[Repeated] = []
        child: cst.CSTNode = node
        for ancestor in self.context.tree.ancestors(node):
            if ancestor is scope:
                if isinstance(scope, cst.Module):
                    after.extend(_siblings_after(scope, child))
                else:
                    again.append(scope)
                break
            after.extend(_siblings_after(ancestor, child))
            if isinstance(ancestor, (cst.For, cst.While)) and child is ancestor.body:
                again.append(ancestor)
            child = ancestor
        return after, again

    def _fresh(self, call: cst.Call, root: Root, depth: int) -> bool:
        """Does the backward go through a graph built in this pass of ``root``, before it?"""
        if depth > _DEPTH:
            return False
        if self._calls_function(call):
            return all(
                self._fresh(inner, definition, depth + 1)
                for definition in self.functions.get(_called_name(call) or "", ())
                for inner in _calls(definition.body)
                if self._backpropagates(inner)
            )
        target = self._target(call)
        if target is None:
            return False
        if isinstance(target, cst.Name) and target.value not in self._bound(root):
            return False  # backpropagated from something built before the loop (or the call)
        return self._defined_before(target, call, root, depth)

    def _target(self, call: cst.Call) -> cst.BaseExpression | None:
        target = self.context.torch.backward_target(call)
        if target is None and self.context.imports.qualified(call.func) in _AUTOGRAD_CALLS and call.args:
            target = call.args[0].value
        if target is None and isinstance(call.func, cst.Attribute) and call.func.attr.value == "backward":
            target = call.args[0].value if call.args else call.func.value
        return target

    def _bound(self, root: Root) -> set[str]:
        """The names ``root`` binds (a loop's target, a function's parameters included); cached."""
        cached = self._bound_names.get(id(root))
        if cached is not None:
            return cached
        bound = names_bound_in(root if isinstance(root, cst.Module) else root.body)
        if isinstance(root, cst.For):
            bound |= set(assigned_names(root.target))
        elif isinstance(root, cst.FunctionDef):
            bound |= {param.name.value for param in _parameters(root)}
        self._bound_names[id(root)] = bound
        return bound

    def _defined_before(
        self,
        expression: cst.BaseExpression,
        use: cst.CSTNode,
        root: Root,
        depth: int,
        after: list[cst.CSTNode] | None = None,
    ) -> bool:
        """Is every name of ``expression`` that ``root`` binds bound afresh, unconditionally,
        before ``use`` in the same pass (and so, in turn, is each value it was bound to)? With
        ``after`` (what runs after the update), each binding must also be among it, unless its
        value carries no graph (a number, a tensor fresh from a torch factory)."""
        if depth > _DEPTH:
            return False
        for name in names_in(expression) & self._bound(root):
            where, value = self._definition_before(name, use, root)
            if where is None:
                return False
            if after is not None:
                if self._graph_free(value):
                    continue
                if not any(where is node or self._inside(where, node) for node in after):
                    return False  # bound before the update, to something that may hold a graph
            if value is not None and not self._defined_before(value, where, root, depth + 1, after):
                return False
        return True

    def _definition_before(
        self, name: str, use: cst.CSTNode, root: Root
    ) -> tuple[cst.CSTNode | None, cst.BaseExpression | None]:
        """Where ``name`` was last bound before ``use`` by a statement that always runs, and the
        value (None for a loop target or a parameter); ``(None, None)`` when nothing shows it."""
        child: cst.CSTNode = use
        for ancestor in self.context.tree.ancestors(use):
            if isinstance(ancestor, cst.For) and child is ancestor.body and name in assigned_names(ancestor.target):
                return ancestor, None
            body = getattr(ancestor, "body", None)
            if isinstance(ancestor, _BLOCKS) and isinstance(body, Sequence):
                index = next((i for i, s in enumerate(body) if s is child), 0)
                for earlier in reversed(body[:index]):
                    if name in names_bound_in(earlier):
                        value = _simple_value(earlier, name)
                        return (earlier, value) if value is not None else (None, None)
            if ancestor is root:
                break
            child = ancestor
        if isinstance(root, cst.FunctionDef) and any(p.name.value == name for p in _parameters(root)):
            return root, None
        return None, None

    def _referenced_otherwise(self, name: str, calls: int) -> bool:
        """Is the function used other than by the calls the file shows (a callback, ``obj.name()``)?"""
        tree = self.context.tree
        uses = 0
        for node in walk(self.context.module, into_functions=True):
            if isinstance(node, cst.Name) and node.value == name:
                parent = tree.parent(node)
                if isinstance(parent, cst.FunctionDef) and parent.name is node:
                    continue
                uses += 1
        return uses != calls


def _simple_value(statement: cst.CSTNode, name: str) -> cst.BaseExpression | None:
    """The value of ``name = value`` when that line is all ``statement`` does to ``name``."""
    if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1:
        small = statement.body[0]
        if isinstance(small, cst.Assign) and any(name in assigned_names(t.target) for t in small.targets):
            return small.value
        if isinstance(small, cst.AnnAssign) and small.value is not None and name in assigned_names(small.target):
            return small.value
    return None


def _parameters(function: cst.FunctionDef) -> Iterator[cst.Param]:
    params = function.params
    yield from (*params.posonly_params, *params.params, *params.kwonly_params)
    for star in (params.star_arg, params.star_kwarg):
        if isinstance(star, cst.Param):
            yield star


def _called_name(call: cst.Call) -> str | None:
    func = call.func
    if isinstance(func, cst.Name):
        return func.value
    if isinstance(func, cst.Attribute) and dotted_name(func.value) in ("self", "cls"):
        return func.attr.value
    return None


def _calls(node: cst.CSTNode) -> Iterator[cst.Call]:
    return (inner for inner in walk(node, into_functions=True) if isinstance(inner, cst.Call))


def _siblings_after(parent: cst.CSTNode, child: cst.CSTNode) -> list[cst.CSTNode]:
    kids = list(children(parent))
    index = next((i for i, kid in enumerate(kids) if kid is child), len(kids))
    return kids[index + 1 :]
