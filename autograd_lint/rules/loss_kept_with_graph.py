from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

import libcst as cst

from ..context import FileContext
from ..fixes import PendingFix, Replace
from ..rule import Invalid, Rule
from ..syntax import assigned_names, dotted_name
from ..tree import Loop

_NUMBERS = (cst.Integer, cst.Float)


class LossKeptWithGraph(Rule):
    """
    ## What it does
    Flags a loss that is backpropagated in a loop and also summed or appended across
    iterations as a tensor (`total += loss`, `losses.append(loss)`), without
    `.item()` or `.detach()`.

    ## Why is this bad?
    A loss tensor holds its whole graph: every activation of that forward pass.
    Adding it to a running total or a list keeps every iteration's graph alive, so
    memory grows each step until the process runs out of it, usually hours in.

    ## Example
    ```python
    total = 0.0
    for x, y in loader:
        loss = criterion(model(x), y)
        loss.backward()
        total += loss
    ```

    ## Use instead
    ```python
    total = 0.0
    for x, y in loader:
        loss = criterion(model(x), y)
        loss.backward()
        total += loss.item()
    ```

    ## Known false positives
    Only losses that the loop backpropagates are followed, so a list of losses kept
    on purpose for a single backward after the loop is not reported.

    ## Fix safety
    Unsafe: `.item()` when the running total starts as a Python number, `.detach()`
    otherwise (a list keeps tensors, without their graphs).
    """

    code: ClassVar[str] = "AGL006"
    name: ClassVar[str] = "loss-kept-with-graph"
    message: ClassVar[str] = (
        "`{name}` is kept across iterations with its graph, so every iteration's graph stays in memory; "
        "use `{name}.item()` or `{name}.detach()`"
    )
    fix_safety = frozenset({"unsafe"})
    triggers = ("backward",)

    VALID = (
        """
        import torch
        total = 0.0
        for x, y in loader:
            loss = crit(model(x), y)
            loss.backward()
            total += loss.item()
        """,
        """
        import torch
        losses = []
        for x, y in loader:
            loss = crit(model(x), y)
            loss.backward()
            losses.append(loss.detach())
        """,
        # Summed for a single backward after the loop: the graphs are wanted.
        """
        import torch
        total = 0
        for x, y in loader:
            total = total + crit(model(x), y)
        total.backward()
        """,
        # The loss is rebound to a number before it is kept.
        """
        import torch
        total = 0.0
        for x, y in loader:
            loss = crit(model(x), y)
            loss.backward()
            loss = loss.item()
            total += loss
            history.append(loss)
        """,
        # A sum under no_grad holds no graph.
        """
        import torch
        for x, y in loader:
            loss = crit(model(x), y)
            loss.backward()
            with torch.no_grad():
                total += loss
        """,
        # Summing parts of one loss inside the iteration.
        """
        import torch
        for x, y in loader:
            loss = crit(model(x), y)
            loss += 0.01 * reg(model)
            loss.backward()
        """,
    )
    INVALID = (
        Invalid(
            """
            import torch
            total = 0.0
            for x, y in loader:
                loss = crit(model(x), y)
                loss.backward()
                total += loss
            """,
            lines=(6,),
            fixed="""
            import torch
            total = 0.0
            for x, y in loader:
                loss = crit(model(x), y)
                loss.backward()
                total += loss.item()
            """,
            unsafe=True,
        ),
        Invalid(
            """
            import torch
            history = []
            for x, y in loader:
                loss = crit(model(x), y)
                loss.backward()
                history.append(loss)
            """,
            lines=(6,),
            fixed="""
            import torch
            history = []
            for x, y in loader:
                loss = crit(model(x), y)
                loss.backward()
                history.append(loss.detach())
            """,
            unsafe=True,
        ),
        Invalid(
            """
            import torch
            running = 0
            for x, y in loader:
                loss = crit(model(x), y)
                scaler.scale(loss).backward()
                running = running + loss * x.size(0)
            """,
            lines=(6,),
        ),
        Invalid(
            """
            import torch
            running = 0.0
            for i, (x, y) in enumerate(loader):
                loss = crit(model(x), y)
                (loss / accum_steps).backward()
                if (i + 1) % accum_steps == 0:
                    optimizer.step()
                    optimizer.zero_grad()
                running += loss
            """,
            lines=(9,),
            fixed="""
            import torch
            running = 0.0
            for i, (x, y) in enumerate(loader):
                loss = crit(model(x), y)
                (loss / accum_steps).backward()
                if (i + 1) % accum_steps == 0:
                    optimizer.step()
                    optimizer.zero_grad()
                running += loss.item()
            """,
            unsafe=True,
        ),
        Invalid(
            """
            import torch
            history = []
            for x, y, w in loader:
                optimizer.zero_grad()
                loss = crit(model(x), y)
                (loss * w).backward()
                optimizer.step()
                history.append(loss)
            """,
            lines=(8,),
            fixed="""
            import torch
            history = []
            for x, y, w in loader:
                optimizer.zero_grad()
                loss = crit(model(x), y)
                (loss * w).backward()
                optimizer.step()
                history.append(loss.detach())
            """,
            unsafe=True,
        ),
    )

    def finish(self) -> None:
        context = self.context
        for loop in context.facts.loops:
            targets = {
                loss.value
                for e in context.events.of_loop(loop)
                if e.kind == "backward" and e.via is None and e.target is not None
                for loss in context.torch.backward_losses(e.target)
            }
            if not targets:
                continue
            for accumulator, name in _accumulations(context, loop, targets):
                fix = _detach(context, loop, accumulator, name)
                self.report(name, self.message.format(name=name.value), fix)


def _accumulations(context: FileContext, loop: Loop, losses: set[str]) -> Iterator[tuple[str | None, cst.Name]]:
    """Running totals and lists that receive a loss tensor, in loop order. A loss
    rebound to a plain value (``loss = loss.item()``) no longer counts; a sum taken
    under ``no_grad`` holds no graph (a list still holds the tensor, graph and all)."""
    reset: set[str] = set()
    live = set(losses)
    for node in context.tree.walk(loop.body):
        if isinstance(node, cst.Assign):
            targets = {n for t in node.targets for n in assigned_names(t.target)}
            total = next(iter(targets)) if len(targets) == 1 else None
            if (
                total is not None
                and total not in losses
                and total not in reset
                and _mentions(context, node.value, total)
            ):
                if not context.torch.in_no_grad(node):
                    yield from ((total, name) for name in _bare_losses(node.value, live))
            reset |= targets - losses
            for name in targets & losses:
                (live.discard if _is_plain_value(node.value) else live.add)(name)
        elif isinstance(node, cst.AugAssign) and isinstance(node.operator, cst.AddAssign):
            total = dotted_name(node.target)
            if total is not None and total not in losses and total not in reset and not context.torch.in_no_grad(node):
                yield from ((total, name) for name in _bare_losses(node.value, live))
        elif isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == "append":
            for arg in node.args:
                yield from ((None, name) for name in _bare_losses(arg.value, live))


def _is_plain_value(value: cst.BaseExpression) -> bool:
    """``loss.item()``, ``loss.detach()``, ``float(loss)``: no graph comes along."""
    if isinstance(value, (cst.Integer, cst.Float)):
        return True
    if isinstance(value, cst.Call):
        if isinstance(value.func, cst.Attribute):
            return value.func.attr.value in ("item", "detach", "tolist", "numpy")
        return isinstance(value.func, cst.Name) and value.func.value in ("float", "int")
    return False


def _mentions(context: FileContext, node: cst.CSTNode, name: str) -> bool:
    return any(isinstance(n, cst.Name) and n.value == name for n in context.tree.walk(node))


def _bare_losses(node: cst.BaseExpression, losses: set[str]) -> Iterator[cst.Name]:
    """Loss names used as operands themselves, not inside a call like ``float(loss)``."""
    if isinstance(node, cst.Name):
        if node.value in losses:
            yield node
    elif isinstance(node, cst.BinaryOperation):
        yield from _bare_losses(node.left, losses)
        yield from _bare_losses(node.right, losses)
    elif isinstance(node, cst.UnaryOperation):
        yield from _bare_losses(node.expression, losses)


def _detach(context: FileContext, loop: Loop, accumulator: str | None, name: cst.Name) -> PendingFix:
    start = context.tree.assignment_before(accumulator, loop) if accumulator else None
    method = "item" if isinstance(start, _NUMBERS) else "detach"
    return PendingFix(f"Keep `{name.value}.{method}()`", "unsafe", (Replace(name, f"{name.value}.{method}()"),))
