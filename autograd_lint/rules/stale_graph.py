from __future__ import annotations

from typing import ClassVar

import libcst as cst

from ..context import FileContext
from ..fixes import InsertStatement, PendingEdit, PendingFix, RemoveStatement, Replace
from ..rule import Invalid, Rule
from ..syntax import keyword, without_argument
from ..tree import Loop
from ._repair import first_use, graph_may_outlive_iteration

# Values that build no graph: rebinding a name to one of these is not a forward pass.
_PLAIN_VALUES = (cst.Name, cst.Integer, cst.Float, cst.SimpleString, cst.ConcatenatedString, cst.List, cst.Dict)


class StaleGraph(Rule):
    """
    ## What it does
    Flags `loss.backward()` inside a loop when `loss` was computed before the loop and
    is never recomputed in it.

    ## Why is this bad?
    The graph is a record of the forward pass as it ran once, with the parameter
    values of that moment. Every iteration then differentiates that same old graph:
    the gradient never changes, however much the parameters move, so the model
    follows a stale direction and diverges or stalls. Without `retain_graph=True`
    the second iteration fails ("Trying to backward through the graph a second
    time"); with it, nothing fails and the mistake is silent.

    ## Example
    ```python
    distance = torch.mean((x - target) ** 2)
    for i in range(1000):
        distance.backward(retain_graph=True)
        with torch.no_grad():
            x -= 0.01 * x.grad
        x.grad = None
    ```

    ## Use instead
    ```python
    for i in range(1000):
        distance = torch.mean((x - target) ** 2)
        distance.backward()
        with torch.no_grad():
            x -= 0.01 * x.grad
        x.grad = None
    ```

    ## Known false positives
    A loop that deliberately backpropagates one fixed graph several times (to time
    backward, say) is reported; silence it with `# noqa: AGL001`. Only plain names
    are followed, also inside an expression (`(loss / k).backward()`): `self.loss.backward()`
    is not checked. `accelerator.backward(loss)`, DeepSpeed's `engine.backward(loss)` and
    ColossalAI's `optimizer.backward(loss)` backpropagate from their argument.

    ## Fix safety
    Unsafe (it changes what runs each iteration, on purpose): when the loss is built
    by a simple assignment just before the loop, it is computed again in the loop, before
    the first statement that uses it (the assignment before the loop goes, unless code
    after the loop reads the name). `retain_graph=True` is dropped only when no later
    backward can need the graph: none elsewhere in the scope reaches the loss, and the
    loop carries no tensor from one iteration to the next (`h = cell(x, h)`).
    """

    code: ClassVar[str] = "AGL001"
    name: ClassVar[str] = "stale-graph"
    message: ClassVar[str] = (
        "`{name}` is computed once before the loop, so every iteration backpropagates "
        "through the same stale graph; compute it inside the loop"
    )
    fix_safety = frozenset({"unsafe"})
    triggers = ("backward",)

    VALID = (
        # The loss is recomputed every iteration.
        """
        import torch
        x = torch.rand(5, requires_grad=True)
        for i in range(10):
            loss = (x ** 2).sum()
            loss.backward()
        """,
        # A loop over losses binds the name each iteration.
        """
        import torch
        for loss in losses:
            loss.backward()
        """,
        # Closure-based optimizers build the graph inside the closure.
        """
        import torch
        def closure():
            opt.zero_grad()
            loss = model(x).sum()
            loss.backward()
            return loss
        for _ in range(5):
            opt.step(closure)
        """,
        # A graph built in the enclosing loop's iteration, backpropagated once.
        """
        import torch
        for batch in loader:
            loss = model(batch).mean()
            if loss > 0:
                loss.backward()
        """,
        """
        import torch
        from accelerate import Accelerator
        accelerator = Accelerator()
        for batch in loader:
            optimizer.zero_grad()
            loss = model(batch).loss
            accelerator.backward(loss)
            optimizer.step()
        """,
        """
        import torch
        model_engine, optimizer, _, _ = deepspeed.initialize(model=model)
        booster_opt = HybridAdam(model.parameters())
        for step, batch in enumerate(loader):
            loss = model_engine(batch)
            model_engine.backward(loss)
            model_engine.step()
        optimizer = HybridAdam(model.parameters())
        for batch in loader:
            optimizer.zero_grad()
            loss = criterion(model(batch), batch)
            optimizer.backward(loss)
            optimizer.step()
        """,
    )
    INVALID = (
        Invalid(
            """
            import torch
            x = torch.rand(5, requires_grad=True)
            target = torch.ones(5)
            distance = torch.mean((x - target) ** 2)
            for i in range(100):
                distance.backward(retain_graph=True)
                with torch.no_grad():
                    x -= 0.01 * x.grad
                x.grad = None
            """,
            lines=(6,),
            fixed="""
            import torch
            x = torch.rand(5, requires_grad=True)
            target = torch.ones(5)
            for i in range(100):
                distance = torch.mean((x - target) ** 2)
                distance.backward()
                with torch.no_grad():
                    x -= 0.01 * x.grad
                x.grad = None
            """,
            unsafe=True,
        ),
        Invalid(
            """
            import torch
            def fit(model, opt, x, y):
                loss = ((model(x) - y) ** 2).mean()
                step = 0
                while step < 100:
                    opt.zero_grad()
                    loss.backward(retain_graph=True)
                    opt.step()
                    step += 1
            """,
            lines=(7,),
        ),
        Invalid(
            """
            import torch as t
            w = t.zeros(3, requires_grad=True)
            loss = (w - 1).pow(2).sum()
            for epoch in range(3):
                for i in range(10):
                    t.autograd.backward(loss, retain_graph=True)
            """,
            lines=(6,),
        ),
        Invalid(
            """
            import torch
            x = torch.rand(5, requires_grad=True)
            loss = ((x - 1) ** 2).mean()
            for i in range(100):
                (loss / 4).backward(retain_graph=True)
                with torch.no_grad():
                    x -= 0.1 * x.grad
                x.grad = None
            """,
            lines=(5,),
            fixed="""
            import torch
            x = torch.rand(5, requires_grad=True)
            for i in range(100):
                loss = ((x - 1) ** 2).mean()
                (loss / 4).backward()
                with torch.no_grad():
                    x -= 0.1 * x.grad
                x.grad = None
            """,
            unsafe=True,
        ),
        Invalid(
            """
            import torch
            def fit(w, data):
                loss = (w - data).pow(2).sum()
                for step in range(10):
                    (-loss).backward(retain_graph=True)
                    with torch.no_grad():
                        w += 0.1 * w.grad
                    w.grad.zero_()
            """,
            lines=(5,),
            fixed="""
            import torch
            def fit(w, data):
                for step in range(10):
                    loss = (w - data).pow(2).sum()
                    (-loss).backward()
                    with torch.no_grad():
                        w += 0.1 * w.grad
                    w.grad.zero_()
            """,
            unsafe=True,
        ),
    )

    def finish(self) -> None:
        context = self.context
        for loop in context.facts.loops:
            for _, event in context.events.own_backwards(loop):
                for name in stale_losses(context, loop, event.target):
                    fix = _move_into_loop(context, loop, event.call, name)
                    self.report(event.node, self.message.format(name=name), fix)


def stale_losses(context: FileContext, loop: Loop, target: cst.BaseExpression | None) -> list[str]:
    """The losses of a backward's target (``loss``, ``(loss / k)``) that the loop never binds and
    that hold a graph built before it."""
    if target is None:
        return []
    stale = []
    bound: set[str] | None = None
    for loss in context.torch.backward_losses(target):
        if bound is None:
            bound = context.tree.names_bound_in(loop.body)
        if loss.value in bound:
            continue
        value = context.tree.assignment_before(loss.value, loop)
        if value is not None and not isinstance(value, _PLAIN_VALUES):
            stale.append(loss.value)
    return stale


def _move_into_loop(context: FileContext, loop: Loop, backward: cst.Call, name: str) -> PendingFix | None:
    """Move ``name = ...`` from just before the loop to just before the backward."""
    block = context.tree.parent(loop)
    body = list(getattr(block, "body", ()))
    if loop not in body:
        return None
    index = body.index(loop)
    assignment = None
    for statement in reversed(body[:index]):
        if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
            break
        small = statement.body[0]
        if not isinstance(small, (cst.Assign, cst.AugAssign, cst.AnnAssign, cst.Expr)):
            break
        if isinstance(small, cst.Assign) and [
            t.target for t in small.targets if isinstance(t.target, cst.Name) and t.target.value == name
        ]:
            if len(small.targets) == 1:
                assignment = statement
            break
    if assignment is None:
        return None
    # Statements between the assignment and the loop must not read the name.
    between = body[body.index(assignment) + 1 : index]
    if any(isinstance(n, cst.Name) and n.value == name for s in between for n in context.tree.walk(s)):
        return None
    # Computed again before its first use in the loop; the original stays when code after the
    # loop reads it too (a loop that runs no iteration must leave it defined).
    first = first_use(context, loop, name)
    if first is None:
        return None
    edits: list[PendingEdit] = [InsertStatement(first, (context.module.code_for_node(assignment.body[0]),))]
    if not any(name in context.tree.names_in(s) for s in body[index + 1 :]):
        edits.append(RemoveStatement(assignment))
    retain = keyword(backward, "retain_graph")
    if retain is not None and not graph_may_outlive_iteration(context, loop, name, fresh=True):
        edits.append(Replace(backward, context.module.code_for_node(without_argument(backward, retain))))
    return PendingFix(f"Compute `{name}` inside the loop", "unsafe", tuple(edits))
