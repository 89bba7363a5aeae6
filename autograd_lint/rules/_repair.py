"""Repairs shared by the rules whose fix is "update under no_grad, then clear"."""

from __future__ import annotations

import libcst as cst

from ..context import FileContext
from ..fixes import PendingFix, ReplaceStatement
from ..syntax import dotted_name


def no_grad_update(
    context: FileContext, statement: cst.CSTNode, update: str, parameter: cst.BaseExpression, description: str
) -> PendingFix | None:
    """Replace ``statement`` by ``update`` under ``torch.no_grad()``, followed by
    ``parameter.grad = None`` when the loop around it clears nothing itself."""
    torch = context.imports.torch_alias()
    if torch is None or not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return None
    if context.torch.in_no_grad(statement):
        lines = [(0, update)]
    else:
        lines = [(0, f"with {torch}.no_grad():"), (1, update)]
    comment_line = len(lines) - 1
    loop = context.tree.enclosing_loop(statement)
    name = dotted_name(parameter)
    if loop is not None and name is not None:
        cleared = any(e.kind == "clear" for e in context.events.of_loop(loop))
        if not cleared:
            lines.append((0, f"{name}.grad = None"))
    return PendingFix(description, "unsafe", (ReplaceStatement(statement, tuple(lines), comment_line),))
