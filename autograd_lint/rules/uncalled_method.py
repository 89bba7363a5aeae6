from __future__ import annotations

from typing import ClassVar

import libcst as cst

from ..fixes import PendingFix, Replace
from ..rule import Invalid, Rule

# Methods called for their effect only: named without the call they do nothing at all.
_TRAINING_METHODS = frozenset({"zero_grad", "step", "backward", "train", "eval", "requires_grad_", "detach_"})


class UncalledMethod(Rule):
    """
    ## What it does
    Flags a training method named as a statement without being called:
    `optimizer.zero_grad`, `opt.step`, `loss.backward`, `model.train`,
    `model.eval`, `x.requires_grad_`, `h.detach_`.

    ## Why is this bad?
    Without the parentheses the line only looks the method up and throws it away.
    Python raises nothing, so the gradients are never cleared, the weights never
    step, the model stays in the wrong mode (dropout and batch norm keep training
    during evaluation), and the tensor keeps or drops its graph against the
    author's intent.

    ## Example
    ```python
    optimizer.zero_grad
    loss.backward()
    optimizer.step()
    model.eval
    ```

    ## Use instead
    ```python
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    model.eval()
    ```

    ## Known false positives
    A class of one's own whose `step`, `train` or `eval` is a property with side
    effects would be flagged; torch objects have none, and such properties are rare
    enough that a `# noqa: AGL014` is the remedy.

    ## Fix safety
    Unsafe: adding the call changes what training does, on purpose (the gradients
    get cleared, the optimizer steps, the mode switches).
    """

    code: ClassVar[str] = "AGL014"
    name: ClassVar[str] = "uncalled-method"
    message: ClassVar[str] = "`{method}` is named but not called, so this line does nothing; write `{method}()`"
    fix_safety = frozenset({"unsafe"})
    triggers = tuple("." + method for method in sorted(_TRAINING_METHODS))

    VALID = (
        """
        import torch
        for x in data:
            optimizer.zero_grad()
            model(x).sum().backward()
            optimizer.step()
        """,
        # Handed over uncalled, on purpose: a hook or a closure takes the bound method.
        """
        import torch
        hooks.register(optimizer.zero_grad)
        step = optimizer.step
        step()
        """,
        """
        import torch
        model.eval()
        mode = model.train if training else model.eval
        mode()
        """,
        # Another attribute named as a statement is not a training method.
        """
        import torch
        model.weight
        """,
    )
    INVALID = (
        Invalid(
            """
            import torch
            for x, y in loader:
                optimizer.zero_grad
                loss = crit(model(x), y)
                loss.backward()
                optimizer.step()
            """,
            lines=(3,),
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
            def evaluate(model, loader):
                model.eval
                with torch.no_grad():
                    return [model(x) for x in loader]
            """,
            lines=(3,),
            fixed="""
            import torch
            def evaluate(model, loader):
                model.eval()
                with torch.no_grad():
                    return [model(x) for x in loader]
            """,
            unsafe=True,
        ),
        Invalid(
            """
            import torch
            for x in data:
                self.opt.zero_grad()
                self.loss(x).backward
                self.opt.step; h.detach_; w.requires_grad_
            """,
            lines=(4, 5, 5, 5),
            fixed="""
            import torch
            for x in data:
                self.opt.zero_grad()
                self.loss(x).backward()
                self.opt.step(); h.detach_(); w.requires_grad_()
            """,
            unsafe=True,
        ),
    )

    def visit_Expr(self, node: cst.Expr) -> None:
        value = node.value
        if type(value) is not cst.Attribute or value.attr.value not in _TRAINING_METHODS:
            return
        method = self.context.tree.code(value)
        fix = PendingFix(f"Call `{method}()`", "unsafe", (Replace(value, method + "()"),))
        self.report(value, self.message.format(method=method), fix)
