from __future__ import annotations

from typing import ClassVar

import libcst as cst

from ..context import FileContext
from ..events import Event, EventKind
from ..fixes import InsertStatement, PendingFix, Replace
from ..rule import Invalid, Rule
from ..syntax import dotted_name
from ..tree import Loop
from ._repair import clear_before_backward, depends_on_loop, reads_grad_after


class MissingZeroGrad(Rule):
    """
    ## What it does
    Flags a training loop that runs `backward()` and updates parameters but never
    clears the gradients.

    An update is an optimizer or scaler `step()`, or an in-place update from `.grad`.
    Clearing is `zero_grad()` (of an optimizer or a module), `p.grad = None`,
    `p.grad.zero_()`, in the loop or in a function of the same file that it calls.

    ## Why is this bad?
    `backward()` adds into `.grad`; it never overwrites. Without clearing, each
    update uses the sum of every gradient so far: the steps grow, the loss
    oscillates or diverges, and nothing raises an error.

    ## Example
    ```python
    for x, y in loader:
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
    ```

    ## Use instead
    ```python
    for x, y in loader:
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
    ```

    ## Known false positives
    Gradients cleared by code in another module (a callback, a framework hook) are
    invisible here; add `# noqa: AGL002` on the backward line. A method of a class of
    this file that clears them counts wherever it is called from the loop
    (`cb.on_batch_begin(self)`, `self.hooks.before_step()`), and so does
    `optimizer.zero_grad` handed over uncalled (`register_hook(optimizer.zero_grad)`); named
    alone as a statement it does nothing and does not count. Clearing under a
    condition (gradient accumulation) counts as clearing, and a closure passed to
    `step(closure)` is a complete step of its own.

    ## Fix safety
    Unsafe (it changes the update, on purpose): `optimizer.zero_grad()` at the top
    of the loop body when the step runs every iteration, right after the step when
    the step is conditional, and `p.grad = None` at the top of the loop body after a
    manual update. When the iteration reads a gradient before its backward, the clear
    goes just before the backward instead; when a read after a conditional step would
    meet the cleared gradient, no fix is offered: a fix never makes a script raise. A bare `optimizer.zero_grad`
    statement is called instead.
    """

    code: ClassVar[str] = "AGL002"
    name: ClassVar[str] = "missing-zero-grad"
    message: ClassVar[str] = (
        "gradients are never cleared in this loop, so each update also applies every "
        "earlier gradient; call `{suggestion}` once per iteration"
    )
    fix_safety = frozenset({"unsafe"})
    triggers = ("backward",)

    VALID = (
        """
        import torch
        for x, y in loader:
            optimizer.zero_grad()
            loss = crit(model(x), y)
            loss.backward()
            optimizer.step()
        """,
        # Gradient accumulation: clear under a condition.
        """
        import torch
        for i, (x, y) in enumerate(loader):
            loss = crit(model(x), y) / 4
            loss.backward()
            if (i + 1) % 4 == 0:
                optimizer.step()
                optimizer.zero_grad()
        """,
        # Manual SGD with p.grad = None.
        """
        import torch
        for _ in range(100):
            loss = (w * x - y).pow(2).mean()
            loss.backward()
            with torch.no_grad():
                for p in [w]:
                    p -= 0.1 * p.grad
                    p.grad = None
        """,
        # The clearing sits in a method the loop calls.
        """
        import torch
        class Trainer:
            def train_step(self, batch):
                self.opt.zero_grad()
                loss = self.model(batch).mean()
                loss.backward()
                self.opt.step()
            def fit(self, loader):
                for batch in loader:
                    self.train_step(batch)
        """,
        # Updates from torch.autograd.grad never accumulate.
        """
        import torch
        for _ in range(10):
            loss = f(w)
            (g,) = torch.autograd.grad(loss, [w])
            with torch.no_grad():
                w -= 0.1 * g
        """,
        # Clearing by multiplying with zero.
        """
        import torch
        for _ in range(10):
            loss = f(w)
            loss.backward()
            with torch.no_grad():
                w -= 0.1 * w.grad
                w.grad *= 0
        """,
        # A file's own micrograd-style engine: its backward() is not torch's.
        """
        import torch
        class Value:
            def backward(self):
                pass
        for k in range(20):
            loss = Value(1.0)
            loss.backward()
            for p in params:
                p.data += -0.1 * p.grad
        """,
        # A scheduler step is not an update.
        """
        import torch
        for epoch in range(3):
            loss = model(x).sum()
            loss.backward()
            scheduler.step()
        """,
        """
        import torch
        class Clearer:
            def on_batch_begin(self, trainer):
                trainer.optimizer.zero_grad()
        class Trainer:
            def fit(self, loader):
                for x in loader:
                    for cb in self.callbacks:
                        cb.on_batch_begin(self)
                    loss = self.model(x).mean()
                    loss.backward()
                    self.optimizer.step()
        """,
        """
        import torch
        class Hooks:
            def before_step(self):
                for p in self.model.parameters():
                    p.grad = None
        class Loop:
            def run(self, data):
                for x in data:
                    self.model(x).sum().backward()
                    self.optimizer.step()
                    self.hooks.before_step()
        """,
        """
        import torch
        trainer.register_hook(optimizer.zero_grad)
        for x, y in loader:
            loss = crit(model(x), y)
            loss.backward()
            optimizer.step(callback=optimizer.zero_grad)
        """,
    )
    INVALID = (
        Invalid(
            """
            import torch
            for x, y in loader:
                loss = crit(model(x), y)
                loss.backward()
                optimizer.step()
            """,
            lines=(4,),
            fixed="""
            import torch
            for x, y in loader:
                optimizer.zero_grad()
                loss = crit(model(x), y)
                loss.backward()
                optimizer.step()
            """,
            unsafe=True,
        ),
        Invalid(
            """
            import torch
            while step < 100:
                loss = (x - target).pow(2).mean()
                loss.backward()
                x.data.sub_(0.01 * x.grad.data)
                step += 1
            """,
            lines=(4,),
            fixed="""
            import torch
            while step < 100:
                x.grad = None
                loss = (x - target).pow(2).mean()
                loss.backward()
                x.data.sub_(0.01 * x.grad.data)
                step += 1
            """,
            unsafe=True,
        ),
        Invalid(
            """
            import torch
            def train(model, loader, opt, scaler):
                for x, y in loader:
                    with torch.autocast('cuda'):
                        loss = model(x, y)
                    scaler.scale(loss).backward()
                    scaler.step(opt)
                    scaler.update()
            """,
            lines=(6,),
            fixed="""
            import torch
            def train(model, loader, opt, scaler):
                for x, y in loader:
                    opt.zero_grad()
                    with torch.autocast('cuda'):
                        loss = model(x, y)
                    scaler.scale(loss).backward()
                    scaler.step(opt)
                    scaler.update()
            """,
            unsafe=True,
        ),
        Invalid(
            """
            import torch
            for epoch in range(10):
                optimizer.zero_grad()
                for x, y in loader:
                    crit(model(x), y).backward()
                    if ready:
                        optimizer.step()
            """,
            lines=(5,),
            fixed="""
            import torch
            for epoch in range(10):
                optimizer.zero_grad()
                for x, y in loader:
                    crit(model(x), y).backward()
                    if ready:
                        optimizer.step()
                        optimizer.zero_grad()
            """,
            unsafe=True,
        ),
        Invalid(
            """
            import torch
            for x, y in loader:
                optimizer.zero_grad
                loss = crit(model(x), y)
                loss.backward()
                optimizer.step()
            """,
            lines=(5,),
            fixed="""
            import torch
            for x, y in loader:
                optimizer.zero_grad()
                loss = crit(model(x), y)
                loss.backward()
                optimizer.step()
            """,
            unsafe=True,
        ),
        Invalid(
            """
            import torch
            def train(model, opt, loader):
                for batch in loader:
                    model.zero_grad
                    model(batch).mean().backward()
                    opt.step()
            """,
            lines=(5,),
            fixed="""
            import torch
            def train(model, opt, loader):
                for batch in loader:
                    model.zero_grad()
                    model(batch).mean().backward()
                    opt.step()
            """,
            unsafe=True,
        ),
    )

    def finish(self) -> None:
        context = self.context
        for loop in context.facts.loops:
            events = context.events.of_loop(loop)
            backward = next((e for e in events if e.kind == "backward"), None)
            # A rebinding `w = w - lr * w.grad` is AGL010's mistake; the old leaf's `.grad` is never read again.
            updates = [e for e in events if e.kind in ("step", "update") and not _rebinds(e.node)]
            if backward is None or not updates or any(e.kind == "clear" for e in events):
                continue
            if any(e.kind == "step" and _passes_closure(e.node) for e in updates):
                continue
            suggestion, fix = _clearing(context, loop, updates[0])
            self.report(backward.via or backward.node, self.message.format(suggestion=suggestion), fix)


def _bare_zero_grad(context: FileContext, loop: Loop) -> cst.Attribute | None:
    """``optimizer.zero_grad`` as a statement of the loop's own body, named but never called."""
    for node in context.tree.walk(loop.body):
        if (
            isinstance(node, cst.Expr)
            and isinstance(node.value, cst.Attribute)
            and node.value.attr.value == "zero_grad"
        ):
            return node.value
    return None


def _rebinds(node: cst.CSTNode) -> bool:
    return isinstance(node, cst.Assign) and all(isinstance(t.target, cst.Name) for t in node.targets)


def _passes_closure(call: cst.CSTNode) -> bool:
    if not isinstance(call, cst.Call) or not isinstance(call.func, cst.Attribute):
        return False
    receiver = (dotted_name(call.func.value) or "").lower()
    return "scaler" not in receiver and any(a.keyword is None or a.keyword.value == "closure" for a in call.args)


def _clearing(context: FileContext, loop: Loop, update: Event) -> tuple[str, PendingFix | None]:
    target = context.module.code_for_node(update.target) if update.target is not None else "optimizer"
    if update.kind == "step":
        suggestion = f"{target}.zero_grad()"
    else:
        suggestion = f"{target}.grad = None"
    if update.via is not None or not isinstance(loop.body, cst.IndentedBlock):
        return suggestion, None
    bare = _bare_zero_grad(context, loop)
    if bare is not None:
        # `optimizer.zero_grad` named without a call: call it where it stands.
        code = context.module.code_for_node(bare) + "()"
        return code, PendingFix(f"Call `{code}`", "unsafe", (Replace(bare, code),))
    statement = context.tree.statement_of(update.node)
    if update.kind is EventKind.STEP and context.tree.parent(statement) is not loop.body:
        # A conditional step (accumulation): clear right after it, unless a later read of a
        # gradient in the iteration would then meet None.
        if reads_grad_after(context, loop, statement):
            return suggestion, None
        edit: InsertStatement | None = InsertStatement(statement, (suggestion,), after=True)
    elif update.target is not None and depends_on_loop(context, loop, [update.target]):
        # `p` of an inner `for p in params`: cleared right after its own update.
        if reads_grad_after(context, loop, statement):
            return suggestion, None
        edit = InsertStatement(statement, (suggestion,), after=True)
    else:
        edit = clear_before_backward(context, loop, suggestion)
    if edit is None:
        return suggestion, None
    return suggestion, PendingFix(f"Clear gradients with `{suggestion}`", "unsafe", (edit,))
