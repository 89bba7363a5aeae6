"""Repairs shared by the rules whose fix is "update under no_grad, then clear"."""

from __future__ import annotations

from collections.abc import Sequence

import libcst as cst

from ..context import FileContext
from ..fixes import PendingFix, ReplaceStatement
from ..syntax import dotted_name


def no_grad_update(
    context: FileContext,
    statement: cst.CSTNode,
    update: str | Sequence[str],
    parameter: cst.BaseExpression | Sequence[cst.BaseExpression],
    description: str,
) -> PendingFix | None:
    """Replace ``statement`` by the update(s) under ``torch.no_grad()``, followed by
    ``parameter.grad = None`` (for each parameter) when the loop around it clears nothing itself."""
    updates = [update] if isinstance(update, str) else list(update)
    parameters = list(parameter) if isinstance(parameter, Sequence) else [parameter]
    torch = context.imports.torch_alias()
    if torch is None or not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return None
    if context.torch.in_no_grad(statement):
        lines = [(0, code) for code in updates]
    else:
        lines = [(0, f"with {torch}.no_grad():"), *((1, code) for code in updates)]
    comment_line = len(lines) - 1
    loop = context.tree.enclosing_loop(statement)
    names = [context.module.code_for_node(p) if isinstance(p, cst.Subscript) else dotted_name(p) for p in parameters]
    if loop is not None and all(names):
        cleared = any(e.kind == "clear" for e in context.events.of_loop(loop))
        if not cleared:
            lines.extend((0, f"{name}.grad = None") for name in names)
    return PendingFix(description, "unsafe", (ReplaceStatement(statement, tuple(lines), comment_line),))
