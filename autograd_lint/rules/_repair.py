"""Repairs shared by the loop rules' unsafe fixes, and the checks that keep them from breaking a
script that ran: a clear goes where no later read of the gradient can meet ``None``, a moved
computation goes before its first use, and ``retain_graph`` stays while anything may need it."""

from __future__ import annotations

from collections.abc import Sequence

import libcst as cst

from ..context import FileContext
from ..events import EventKind
from ..fixes import InsertStatement, PendingEdit, PendingFix, ReplaceStatement
from ..syntax import assigned_names, dotted_name
from ..tree import Loop

# Calls whose result keeps no graph, so a name rebound to one carries nothing to the next iteration.
_GRAPH_FREE = frozenset({"detach", "item", "tolist", "float", "int", "len", "range"})


def no_grad_update(
    context: FileContext,
    statement: cst.CSTNode,
    update: str | Sequence[str],
    parameter: cst.BaseExpression | Sequence[cst.BaseExpression],
    description: str,
) -> PendingFix | None:
    """Replace ``statement`` by the update(s) under ``torch.no_grad()``, and clear each parameter's
    ``.grad`` before the loop's backward when the loop clears nothing itself."""
    updates = [update] if isinstance(update, str) else list(update)
    parameters = list(parameter) if isinstance(parameter, Sequence) else [parameter]
    torch = context.imports.torch_alias()
    if torch is None or not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return None
    if context.torch.in_no_grad(statement):
        lines = [(0, code) for code in updates]
    else:
        lines = [(0, f"with {torch}.no_grad():"), *((1, code) for code in updates)]
    edits: list[PendingEdit] = [ReplaceStatement(statement, tuple(lines), len(lines) - 1)]
    loop = context.tree.enclosing_loop(statement)
    names = [context.module.code_for_node(p) if isinstance(p, cst.Subscript) else dotted_name(p) for p in parameters]
    if loop is not None and all(names) and not any(e.kind is EventKind.CLEAR for e in context.events.of_loop(loop)):
        clears = tuple(f"{name}.grad = None" for name in names)
        if not depends_on_loop(context, loop, parameters, rewritten=statement):
            clear = clear_before_backward(context, loop, *clears)
            if clear is not None:
                edits.append(clear)
        elif not reads_grad_after(context, loop, statement):
            # `p` of an inner `for p in params`: cleared right after its own update.
            edits[0] = ReplaceStatement(statement, (*lines, *((0, c) for c in clears)), len(lines) - 1)
    return PendingFix(description, "unsafe", tuple(edits))


def loop_statement(context: FileContext, loop: Loop, node: cst.CSTNode) -> cst.CSTNode | None:
    """The statement of the loop's own body that holds ``node``."""
    body = loop.body
    for candidate in (node, *context.tree.ancestors(node)):
        if context.tree.parent(candidate) is body:
            return candidate
        if candidate is loop:
            break
    return None


def clear_before_backward(context: FileContext, loop: Loop, *clears: str) -> InsertStatement | None:
    """Insert the ``clears`` at the top of the loop's body, or, when the iteration reads a gradient
    before its first backward, just before that backward: no read then meets ``None`` where it
    met the previous gradient before."""
    for _, event in context.events.own_backwards(loop):
        statement = loop_statement(context, loop, event.node)
        if statement is None:
            continue
        body = list(getattr(loop.body, "body", ()))
        before = body[: body.index(statement)] if statement in body else []
        top = body[0] if body and not any(_reads_grad(context, s) for s in before) else statement
        return InsertStatement(top, clears)
    return None


def _reads_grad(context: FileContext, node: cst.CSTNode) -> bool:
    aliases = context.facts.grad_aliases
    return any(
        (isinstance(inner, cst.Attribute) and inner.attr.value == "grad")
        or (isinstance(inner, cst.Name) and inner.value in aliases)
        for inner in context.tree.walk(node)
    )


def reads_grad_after(context: FileContext, loop: Loop, node: cst.CSTNode) -> bool:
    """Would a read of a gradient meet ``None`` after a clear put right after ``node``'s
    statement: later in its iteration (in every block around it), in the next iteration before
    its backward, or after the loop (in every block around it up to the scope)?"""
    current = context.tree.statement_of(node)
    scope = context.tree.scope_of(loop)
    inside_loop = False
    for ancestor in context.tree.ancestors(current):
        body = getattr(ancestor, "body", None)
        if isinstance(ancestor, (cst.IndentedBlock, cst.SimpleStatementSuite, cst.Module)) and isinstance(
            body, Sequence
        ):
            holder = next((s for s in body if s is current or _inside(context, current, s)), None)
            if holder is not None and any(_reads_grad(context, later) for later in body[body.index(holder) + 1 :]):
                return True
        inside_loop = inside_loop or ancestor is loop
        if isinstance(ancestor, (cst.For, cst.While)) and _reads_grad_before_backward(context, ancestor):
            return True
        if ancestor is scope:
            break
    return not inside_loop


def _reads_grad_before_backward(context: FileContext, loop: Loop) -> bool:
    """Does an iteration of a loop that backpropagates read a gradient before its backward?
    (A loop with no backward of its own, ``for i in range(n)`` over parameters, moves on to
    another parameter each time.)"""
    body = list(getattr(loop.body, "body", ()))
    for _, event in context.events.own_backwards(loop):
        statement = loop_statement(context, loop, event.node)
        if statement in body:
            return any(_reads_grad(context, s) for s in body[: body.index(statement)])
    return False


def depends_on_loop(
    context: FileContext, loop: Loop, expressions: Sequence[cst.CSTNode], rewritten: cst.CSTNode | None = None
) -> bool:
    """Do the expressions name something the loop binds (an inner loop's ``p``, an index ``i``),
    other than by the statement a fix rewrites? Then a clear of theirs cannot move to the top."""
    tree = context.tree
    bound = tree.names_bound_in(loop.body) - (tree.names_bound_in(rewritten) if rewritten is not None else set())
    if isinstance(loop, cst.For):
        bound |= set(assigned_names(loop.target))
    return any(tree.names_in(e) & bound for e in expressions)


def first_use(context: FileContext, loop: Loop, name: str) -> cst.CSTNode | None:
    """The first statement of the loop's body that mentions ``name``."""
    for statement in getattr(loop.body, "body", ()):
        if name in context.tree.names_in(statement):
            return statement
    return None


def graph_may_outlive_iteration(context: FileContext, loop: Loop, target: str, fresh: bool = False) -> bool:
    """Could a later backward need the graph this loop's backward of ``target`` runs through?

    Yes when ``target`` is backpropagated elsewhere in the scope, when the loop does not build
    ``target`` afresh each iteration (``fresh``: a fix is about to make it), or when the loop carries a tensor across iterations (a name
    rebound from itself, ``h = cell(x, h)``, ``w = w - lr * w.grad``, ``total = total + loss``):
    its next use may reach back into this graph."""
    scope = context.tree.scope_of(loop)
    for call in context.facts.backward_calls:
        backward_target = context.torch.backward_target(call)
        reaches = backward_target is not None and target.split(".")[0] in context.tree.names_in(backward_target)
        if reaches and context.tree.scope_of(call) is scope and not _inside(context, call, loop):
            return True
    if not fresh and target not in _assigned_in(context, loop.body):
        return True
    return any(_carries_itself(context, node) for node in context.tree.walk(loop.body))


def _inside(context: FileContext, node: cst.CSTNode, container: cst.CSTNode) -> bool:
    return any(ancestor is container for ancestor in context.tree.ancestors(node))


def _assigned_in(context: FileContext, body: cst.CSTNode) -> set[str]:
    names: set[str] = set()
    for node in context.tree.walk(body):
        if isinstance(node, cst.Assign):
            for target in node.targets:
                name = dotted_name(target.target)
                if name is not None:
                    names.add(name)
    return names


def _carries_itself(context: FileContext, node: cst.CSTNode) -> bool:
    """``n = f(n)`` or ``n += t`` outside ``no_grad``, with a value that may hold a graph."""
    if isinstance(node, cst.AugAssign):
        names, value = set(assigned_names(node.target)) or {dotted_name(node.target) or ""}, node.value
    elif isinstance(node, cst.Assign) and len(node.targets) == 1:
        names, value = set(assigned_names(node.targets[0].target)), node.value
    else:
        return False
    if not names or isinstance(value, (cst.Integer, cst.Float)) or context.torch.in_no_grad(node):
        return False
    if isinstance(value, cst.Call) and isinstance(value.func, (cst.Attribute, cst.Name)):
        called = value.func.attr.value if isinstance(value.func, cst.Attribute) else value.func.value
        if called in _GRAPH_FREE:
            return False
    return isinstance(node, cst.AugAssign) or bool(names & context.tree.names_in(value))
