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
        "import torch\nfor x, y in loader:\n    opt.zero_grad()\n    out = model(x)\n"
        "    loss_a = out.mean()\n    loss_b = out.std()\n    loss_a.backward(retain_graph=True)\n"
        "    loss_b.backward()\n    opt.step()\n",
        # Shared features, one backward per head, no update inside the loop.
        "import torch\nfeatures = encoder(x)\nfor head in heads:\n"
        "    head(features).sum().backward(retain_graph=True)\n",
        # Outside a loop.
        "import torch\nloss = model(x).sum()\nloss.backward(retain_graph=True)\n",
        # Followed by torch.autograd.grad through the same graph.
        "import torch\nfor x in data:\n    y = f(x)\n    y.backward(retain_graph=True)\n"
        "    g = torch.autograd.grad(y, x)\n    opt.step()\n",
    )
    INVALID = (
        Invalid(
            "import torch\nfor x, y in loader:\n    opt.zero_grad()\n    loss = crit(model(x), y)\n"
            "    loss.backward(retain_graph=True)\n    opt.step()\n",
            lines=(5,),
            fixed="import torch\nfor x, y in loader:\n    opt.zero_grad()\n    loss = crit(model(x), y)\n"
            "    loss.backward()\n    opt.step()\n",
            unsafe=True,
        ),
        Invalid(
            "import torch\nw = torch.zeros(3, requires_grad=True)\nwhile True:\n"
            "    loss = (w - 1).pow(2).sum()\n    loss.backward(gradient=None, retain_graph=True)\n"
            "    with torch.no_grad():\n        w -= 0.1 * w.grad\n        w.grad.zero_()\n",
            lines=(5,),
            fixed="import torch\nw = torch.zeros(3, requires_grad=True)\nwhile True:\n"
            "    loss = (w - 1).pow(2).sum()\n    loss.backward(gradient=None)\n"
            "    with torch.no_grad():\n        w -= 0.1 * w.grad\n        w.grad.zero_()\n",
            unsafe=True,
        ),
        Invalid(
            "import torch\nfor step in range(10):\n    opt.zero_grad()\n    scaler.scale(loss_fn()).backward(retain_graph=True)\n"
            "    scaler.step(opt)\n    scaler.update()\n",
            lines=(4,),
        ),
        Invalid(
            "import torch\n"
            "x = torch.rand(5, requires_grad=True)\n"
            "loss = ((x - 1) ** 2).mean()\n"
            "for i in range(100):\n"
            "    (loss / 4).backward(retain_graph=True)\n"
            "    with torch.no_grad():\n"
            "        x -= 0.1 * x.grad\n"
            "    x.grad = None\n",
            lines=(5,),
        ),
        Invalid(
            "import torch\n"
            "def fit(w, data):\n"
            "    loss = (w - data).pow(2).sum()\n"
            "    for step in range(10):\n"
            "        (-loss).backward(retain_graph=True)\n"
            "        with torch.no_grad():\n"
            "            w += 0.1 * w.grad\n"
            "        w.grad.zero_()\n",
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
