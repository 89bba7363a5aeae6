from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

import libcst as cst

from ..context import FileContext
from ..events import Event
from ..fixes import InsertStatement, PendingFix, RemoveStatement
from ..rule import Invalid, Rule
from ..syntax import dotted_name

_EXITS = (cst.Continue, cst.Break, cst.Return, cst.Raise)


class ZeroGradBeforeStep(Rule):
    """
    ## What it does
    Flags gradients cleared between `backward()` and the optimizer's `step()`.

    ## Why is this bad?
    The step reads the gradients that `backward()` just left in `.grad`. Clearing
    them first means the step sees zeros (or `None`, which optimizers skip): the
    weights do not change, the loss stays flat, and no error is raised.

    ## Example
    ```python
    loss.backward()
    optimizer.zero_grad()
    optimizer.step()
    ```

    ## Use instead
    ```python
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    ```

    A loop body is a cycle: `optimizer.zero_grad(); optimizer.step(); ...; loss.backward()`
    clears the previous iteration's gradients just before the step, and is reported too.

    ## Known false positives
    With several optimizers the cleared one must be the stepped one, or the only one
    in sight: clearing D's gradients after G's backward (a GAN) is correct and not
    reported. Clearing under an `if` that then skips the step (`continue`) is a
    deliberate skip and not reported.

    ## Fix safety
    Unsafe: the clearing moves to just after the step.
    """

    code: ClassVar[str] = "AGL009"
    name: ClassVar[str] = "zero-grad-before-step"
    message: ClassVar[str] = (
        "gradients are cleared after `backward()` and before `{step}`, so the step sees no gradient "
        "and the weights do not change; clear them before `backward()` or after the step"
    )
    fix_safety = frozenset({"unsafe"})
    triggers = ("backward",)

    VALID = (
        """
        import torch
        for x in data:
            opt.zero_grad()
            model(x).sum().backward()
            opt.step()
        """,
        """
        import torch
        for x in data:
            model(x).sum().backward()
            opt.step()
            opt.zero_grad()
        """,
        # GAN: G's backward leaves gradients in D; D's are cleared before D's own step.
        """
        import torch
        for x in data:
            opt_g.zero_grad()
            g_loss = d(g(z)).mean()
            g_loss.backward()
            opt_g.step()
            opt_d.zero_grad()
            d_loss = d(x).mean() - d(g(z).detach()).mean()
            d_loss.backward()
            opt_d.step()
        """,
        # Skipping a bad batch.
        """
        import torch
        for x in data:
            loss = model(x).sum()
            loss.backward()
            if not torch.isfinite(loss):
                opt.zero_grad()
                continue
            opt.step()
            opt.zero_grad()
        """,
    )
    INVALID = (
        Invalid(
            """
            import torch
            for x in data:
                loss = model(x).sum()
                loss.backward()
                optimizer.zero_grad()
                optimizer.step()
            """,
            lines=(5,),
            fixed="""
            import torch
            for x in data:
                loss = model(x).sum()
                loss.backward()
                optimizer.step()
                optimizer.zero_grad()
            """,
            unsafe=True,
        ),
        Invalid(
            """
            import torch
            def train_step(model, opt, x):
                loss = model(x).mean()
                loss.backward()
                model.zero_grad()
                opt.step()
                return loss.item()
            """,
            lines=(5,),
            fixed="""
            import torch
            def train_step(model, opt, x):
                loss = model(x).mean()
                loss.backward()
                opt.step()
                model.zero_grad()
                return loss.item()
            """,
            unsafe=True,
        ),
        Invalid(
            """
            import torch
            for x in data:
                scaler.scale(model(x).sum()).backward()
                for p in model.parameters():
                    p.grad = None
                scaler.step(opt)
                scaler.update()
            """,
            lines=(5,),
        ),
        Invalid(
            """
            import torch
            for x, y in loader:
                optimizer.zero_grad()
                optimizer.step()
                loss = crit(model(x), y)
                loss.backward()
            """,
            lines=(3,),
            fixed="""
            import torch
            for x, y in loader:
                optimizer.step()
                optimizer.zero_grad()
                loss = crit(model(x), y)
                loss.backward()
            """,
            unsafe=True,
        ),
        Invalid(
            """
            import torch
            step = 0
            while step < 100:
                for p in model.parameters():
                    p.grad = None
                opt.step()
                out = model(batch)
                (out - target).pow(2).mean().backward()
                step += 1
            """,
            lines=(5,),
        ),
    )

    def finish(self) -> None:
        context = self.context
        # A loop body is a cycle: iteration i's backward comes before iteration i+1's clear and step.
        sequences: list[tuple[list[Event], bool]] = [
            (context.events.of_loop(loop), True) for loop in context.facts.loops
        ]
        for functions in context.facts.functions.values():
            for function in functions:
                sequences.append((context.events.of_function(function), False))
        for events, cyclic in sequences:
            for clear, step in _cleared_before_step(context, events, cyclic):
                step_code = context.module.code_for_node(step.call.func) + "()"
                message = self.message.format(step=step_code)
                if not any(e.kind == "backward" for e in events[: events.index(clear)]):
                    message = message.replace("after `backward()`", "after the previous iteration's `backward()`")
                self.report(clear.node, message, _move_after(context, clear, step))


def _cleared_before_step(context: FileContext, events: list[Event], cyclic: bool) -> Iterable[tuple[Event, Event]]:
    """Clears with a backward before them (in a loop, the previous iteration's counts) and a step
    after them, with no backward, grad or other clear in between."""
    steps = {dotted_name(e.target) for e in events if e.kind == "step" and e.target is not None}
    cleared = {dotted_name(e.target) for e in events if e.kind == "clear" and e.target is not None}
    backwards = [index for index, e in enumerate(events) if e.kind == "backward"]
    for index, event in enumerate(events):
        if event.kind != "clear" or event.through_object or not backwards:
            continue
        if backwards[0] > index and not cyclic:
            continue
        if _exits_after(context, event.node):
            continue
        for later in events[index + 1 :]:
            if later.kind in ("backward", "grad", "clear"):
                break
            if later.kind == "step":
                same = _same_target(later, event)
                alone = len(steps) == 1 and len(cleared) == 1
                if same or alone:
                    yield event, later
                break


def _exits_after(context: FileContext, node: cst.CSTNode) -> bool:
    """Is the clearing in an ``if`` block that leaves the iteration (skipping the step)?"""
    for ancestor in context.tree.ancestors(node):
        if isinstance(ancestor, (cst.If, cst.Else)):
            return any(isinstance(n, _EXITS) for n in context.tree.walk(ancestor.body))
        if isinstance(ancestor, (cst.For, cst.While, cst.FunctionDef)):
            return False
    return False


def _move_after(context: FileContext, clear: Event, step: Event) -> PendingFix | None:
    if clear.via is not None or step.via is not None:
        return None
    clearing = context.tree.statement_of(clear.node)
    stepping = context.tree.statement_of(step.node)
    if (
        not isinstance(clearing, cst.SimpleStatementLine)
        or len(clearing.body) != 1
        or context.tree.parent(clearing) is not context.tree.parent(stepping)
    ):
        return None
    code = context.module.code_for_node(clearing.body[0])
    return PendingFix(
        "Clear the gradients after the step",
        "unsafe",
        (RemoveStatement(clearing), InsertStatement(stepping, (code,), after=True)),
    )


def _same_target(one: Event, other: Event) -> bool:
    if one.target is None or other.target is None:
        return False
    return dotted_name(one.target) == dotted_name(other.target)
