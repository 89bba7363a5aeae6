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
        "import torch\nfor x in data:\n    optimizer.zero_grad()\n    model(x).sum().backward()\n    optimizer.step()\n",
        # Handed over uncalled, on purpose: a hook or a closure takes the bound method.
        "import torch\nhooks.register(optimizer.zero_grad)\nstep = optimizer.step\nstep()\n",
        "import torch\nmodel.eval()\nmode = model.train if training else model.eval\nmode()\n",
        # Another attribute named as a statement is not a training method.
        "import torch\nmodel.weight\n",
    )
    INVALID = (
        Invalid(
            "import torch\nfor x, y in loader:\n    optimizer.zero_grad\n    loss = crit(model(x), y)\n"
            "    loss.backward()\n    optimizer.step()\n",
            lines=(3,),
            fixed="import torch\nfor x, y in loader:\n    optimizer.zero_grad()\n    loss = crit(model(x), y)\n"
            "    loss.backward()\n    optimizer.step()\n",
            unsafe=True,
        ),
        Invalid(
            "import torch\ndef evaluate(model, loader):\n    model.eval\n    with torch.no_grad():\n"
            "        return [model(x) for x in loader]\n",
            lines=(3,),
            fixed="import torch\ndef evaluate(model, loader):\n    model.eval()\n    with torch.no_grad():\n"
            "        return [model(x) for x in loader]\n",
            unsafe=True,
        ),
        Invalid(
            "import torch\nfor x in data:\n    self.opt.zero_grad()\n    self.loss(x).backward\n"
            "    self.opt.step; h.detach_; w.requires_grad_\n",
            lines=(4, 5, 5, 5),
            fixed="import torch\nfor x in data:\n    self.opt.zero_grad()\n    self.loss(x).backward()\n"
            "    self.opt.step(); h.detach_(); w.requires_grad_()\n",
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
