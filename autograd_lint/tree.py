"""Navigation in one parsed file: parents, the statement, scope and loop around a node."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Sequence

import libcst as cst

from . import syntax
from .syntax import assigned_names

Loop = cst.For | cst.While
Scope = cst.Module | cst.FunctionDef
STATEMENT_TYPES = (cst.SimpleStatementLine, cst.BaseCompoundStatement)


class SyntaxTree:
    """A module with the parent of every code-bearing node, and the nodes in the order ``walk``
    yields them (both filled by the facts walk)."""

    def __init__(self, module: cst.Module) -> None:
        self.module = module
        self.parents: dict[cst.CSTNode, cst.CSTNode] = {}
        # Pre-order of the whole file; ``ends[i]`` is the index just past ``order[i]``'s subtree,
        # ``scope_starts`` the sorted indices of the functions, classes and lambdas.
        self.order: list[cst.CSTNode] = []
        self.index: dict[cst.CSTNode, int] = {}
        self.ends: list[int] = []
        self.scope_starts: list[int] = []

    def walk(self, node: cst.CSTNode, into_functions: bool = False) -> Sequence[cst.CSTNode]:
        """``syntax.walk``, read off the recorded pre-order: slices of one list instead of a
        generator over every node's fields, which rules run again and again over the same loops.
        A node the facts walk did not see (one a fix built) is walked the slow way."""
        start = self.index.get(node)
        if start is None:
            return list(syntax.walk(node, into_functions))
        order, end = self.order, self.ends[start]
        if into_functions:
            return order[start:end]
        scopes = self.scope_starts
        at = bisect_right(scopes, start)
        if at == len(scopes) or scopes[at] >= end:
            return order[start:end]
        nodes: list[cst.CSTNode] = []
        position = start
        while at < len(scopes) and scopes[at] < end:
            scope = scopes[at]
            nodes.extend(order[position : scope + 1])  # the nested function itself, not its body
            position = self.ends[scope]
            at = bisect_left(scopes, position, at)
        nodes.extend(order[position:end])
        return nodes

    def names_in(self, node: cst.CSTNode) -> set[str]:
        return syntax.names_of(self.walk(node))

    def names_bound_in(self, node: cst.CSTNode) -> set[str]:
        return syntax.names_bound_by(self.walk(node))

    def code(self, node: cst.CSTNode) -> str:
        return self.module.code_for_node(node)

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

    def enclosing_function(self, node: cst.CSTNode) -> cst.FunctionDef | None:
        for ancestor in self.ancestors(node):
            if isinstance(ancestor, cst.FunctionDef):
                return ancestor
        return None

    def is_method(self, function: cst.FunctionDef) -> bool:
        parent = self.parents.get(function)
        while parent is not None and not isinstance(parent, (cst.ClassDef, cst.FunctionDef, cst.Module)):
            parent = self.parents.get(parent)
        return isinstance(parent, cst.ClassDef)

    def assignment_before(self, name: str, loop: Loop) -> cst.BaseExpression | None:
        """The value last assigned to ``name`` in the loop's scope before the loop starts."""
        scope = self.scope_of(loop)
        found: cst.BaseExpression | None = None
        for node in self.walk(scope.body if isinstance(scope, cst.FunctionDef) else scope):
            if node is loop:
                return found
            if isinstance(node, cst.Assign) and any(name in assigned_names(t.target) for t in node.targets):
                found = node.value
            elif isinstance(node, (cst.AugAssign, cst.AnnAssign)) and name in assigned_names(node.target):
                found = node.value
        return None
