"""Navigation in one parsed file: parents, the statement, scope and loop around a node."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from .syntax import assigned_names, walk

Loop = cst.For | cst.While
Scope = cst.Module | cst.FunctionDef
STATEMENT_TYPES = (cst.SimpleStatementLine, cst.BaseCompoundStatement)


class SyntaxTree:
    """A module with the parent of every code-bearing node (filled by the facts walk)."""

    def __init__(self, module: cst.Module) -> None:
        self.module = module
        self.parents: dict[cst.CSTNode, cst.CSTNode] = {}

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
        for node in walk(scope.body if isinstance(scope, cst.FunctionDef) else scope):
            if node is loop:
                return found
            if isinstance(node, cst.Assign) and any(name in assigned_names(t.target) for t in node.targets):
                found = node.value
            elif isinstance(node, (cst.AugAssign, cst.AnnAssign)) and name in assigned_names(node.target):
                found = node.value
        return None
