from __future__ import annotations

from typing import ClassVar

from ..fixes import PendingFix, Replace
from ..rule import Invalid, Rule
from ..syntax import dotted_name, is_true, keyword, without_argument
from ._repair import graph_may_outlive_iteration
from .stale_graph import stale_losses


class RetainGraphInLoop(Rule):
    """
    ## What it does
    Flags `backward(retain_graph=True)` in a training loop when no later backward in
    the same iteration goes through that graph.

    ## Why is this bad?
    `retain_graph=True` exists for one case: a second backward through the same graph.
    Without one it only keeps the graph's buffers alive longer, and it silences the
    error ("Trying to backward through the graph a second time") that would have
    pointed at a stale graph: a loss computed once outside the loop. Most
    `retain_graph=True` seen in loops were added to make that error go away.

    ## Example
    ```python
    for batch in loader:
        optimizer.zero_grad()
        loss = criterion(model(batch.x), batch.y)
        loss.backward(retain_graph=True)
        optimizer.step()
    ```

    ## Use instead
    ```python
    for batch in loader:
        optimizer.zero_grad()
        loss = criterion(model(batch.x), batch.y)
        loss.backward()
        optimizer.step()
    ```

    ## Known false positives
    A graph shared with the next iteration (an RNN state carried without `.detach()`)
    needs the flag; that is truncated backpropagation done wrong, and detaching the
    state is the better repair. Loops that update nothing (per-head backward through
    shared features) are not reported.

    ## Fix safety
    Unsafe: drops `retain_graph=True`; a stale graph then fails loudly again. Offered only
    when the loss is built afresh in the loop, no backward elsewhere in the scope reaches
    it, and the loop carries no tensor across iterations (whose next use could reach back
    into this graph); otherwise the finding comes without a fix.
    """

    code: ClassVar[str] = "AGL005"
    name: ClassVar[str] = "retain-graph-in-loop"
    message: ClassVar[str] = (
        "`retain_graph=True` here keeps a graph that no later backward in the iteration "
        "uses, and hides the error a stale graph would raise"
    )
    fix_safety = frozenset({"unsafe"})
    triggers = ("retain_graph",)

    VALID = (
        # Two losses through one graph in the same iteration: the flag is needed.
        """
        import torch
        for x, y in loader:
            opt.zero_grad()
            out = model(x)
            loss_a = out.mean()
            loss_b = out.std()
            loss_a.backward(retain_graph=True)
            loss_b.backward()
            opt.step()
        """,
        # Shared features, one backward per head, no update inside the loop.
        """
        import torch
        features = encoder(x)
        for head in heads:
            head(features).sum().backward(retain_graph=True)
        """,
        # Outside a loop.
        """
        import torch
        loss = model(x).sum()
        loss.backward(retain_graph=True)
        """,
        # Followed by torch.autograd.grad through the same graph.
        """
        import torch
        for x in data:
            y = f(x)
            y.backward(retain_graph=True)
            g = torch.autograd.grad(y, x)
            opt.step()
        """,
    )
    INVALID = (
        Invalid(
            """
            import torch
            for x, y in loader:
                opt.zero_grad()
                loss = crit(model(x), y)
                loss.backward(retain_graph=True)
                opt.step()
            """,
            lines=(5,),
            fixed="""
            import torch
            for x, y in loader:
                opt.zero_grad()
                loss = crit(model(x), y)
                loss.backward()
                opt.step()
            """,
            unsafe=True,
        ),
        Invalid(
            """
            import torch
            w = torch.zeros(3, requires_grad=True)
            while True:
                loss = (w - 1).pow(2).sum()
                loss.backward(gradient=None, retain_graph=True)
                with torch.no_grad():
                    w -= 0.1 * w.grad
                    w.grad.zero_()
            """,
            lines=(5,),
            fixed="""
            import torch
            w = torch.zeros(3, requires_grad=True)
            while True:
                loss = (w - 1).pow(2).sum()
                loss.backward(gradient=None)
                with torch.no_grad():
                    w -= 0.1 * w.grad
                    w.grad.zero_()
            """,
            unsafe=True,
        ),
        Invalid(
            """
            import torch
            for step in range(10):
                opt.zero_grad()
                scaler.scale(loss_fn()).backward(retain_graph=True)
                scaler.step(opt)
                scaler.update()
            """,
            lines=(4,),
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
        ),
    )

    def finish(self) -> None:
        context = self.context
        for loop in context.facts.loops:
            events = context.events.of_loop(loop)
            updates = any(e.kind in ("step", "update") for e in events)
            for index, event in context.events.own_backwards(loop):
                retain = keyword(event.call, "retain_graph")
                if retain is None or not is_true(retain.value):
                    continue
                if any(later.kind in ("backward", "grad") for later in events[index + 1 :]):
                    continue
                if not updates:
                    continue
                fix = None
                target = dotted_name(event.target) if event.target is not None else None
                # A stale graph needs the flag until AGL001's fix rebuilds it: dropping it alone would raise;
                # so does a graph a later backward may still reach.
                if (
                    target is not None
                    and not stale_losses(context, loop, event.target)
                    and not graph_may_outlive_iteration(context, loop, target)
                ):
                    fixed = context.module.code_for_node(without_argument(event.call, retain))
                    fix = PendingFix("Drop `retain_graph=True`", "unsafe", (Replace(event.node, fixed),))
                self.report(retain, fix=fix)
