from __future__ import annotations

from functools import lru_cache
from typing import ClassVar

import libcst as cst

from ..fixes import PendingFix, Replace
from ..rule import Invalid, Rule
from ..syntax import dotted_name

# Tensor methods that take `requires_grad=` although they are not torch functions.
_TENSOR_METHODS = frozenset({"new_tensor", "new_zeros", "new_ones", "new_empty", "new_full", "to"})
# Objects that hold a script's own settings, whose fields are named as the user likes.
_SETTINGS_OBJECTS = frozenset(
    {
        "self",
        "cls",
        "args",
        "opt",
        "opts",
        "options",
        "config",
        "cfg",
        "conf",
        "hparams",
        "hp",
        "flags",
        "FLAGS",
        "params",
    }
)
_CORRECT = frozenset({"requires_grad", "requires_grad_"})


@lru_cache(maxsize=64)
def is_requires_grad_typo(word: str) -> bool:
    """A misspelling of ``requires_grad``: a few letters off once case and underscores are
    ignored and a plural or ``-ient`` ending is dropped; it must still start with ``req``
    so that ``retain_grad`` and ``set_requires_grad`` are never taken for one."""
    if word[:3].lower() != "req" or word in _CORRECT:
        return False
    folded = word.replace("_", "").lower()
    if not folded.startswith("req"):
        return False
    for ending in ("ients", "ient", "s"):
        if folded.endswith("gr" + ending) or folded.endswith("grad" + ending) or folded.endswith("grd" + ending):
            folded = folded[: -len(ending)]
            break
    return _distance(folded, "requiresgrad") <= 2 and folded.endswith(("grad", "grd", "gard", "gradd"))


def _distance(a: str, b: str) -> int:
    """Edit distance counting a swap of two neighbouring letters as one edit."""
    previous_previous: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous_previous[j - 2] + 1)
        previous_previous, previous = previous, current
    return previous[-1]


class RequiresGradTypo(Rule):
    """
    ## What it does
    Flags a misspelt `requires_grad`.

    For example `require_grad`, `requires_gradient`,
    `requires_grads`, `requiresgrad`, `required_grad`, `requires_grd`, ...) used as a
    keyword of a torch call, as a tensor's attribute, or as the method
    `requires_grad_()`.

    ## Why is this bad?
    Setting a misspelt attribute on a tensor raises no error: `p.require_grad = False`
    just stores a new Python attribute and leaves `p.requires_grad` as it was, so the
    layers meant to be frozen keep training (or the other way round). Misspelt
    keywords and methods fail only when the line finally runs, often deep into a job.

    ## Example
    ```python
    for p in model.backbone.parameters():
        p.require_grad = False
    w = torch.zeros(10, requires_gradient=True)
    ```

    ## Use instead
    ```python
    for p in model.backbone.parameters():
        p.requires_grad = False
    w = torch.zeros(10, requires_grad=True)
    ```

    ## Known false positives
    An attribute of that name on an object that is not a tensor but is taken for one
    (a tensor evidence such as a `.parameters()` loop variable later rebound to
    something else). Keywords of the user's own functions, and fields of `self`,
    `args`, `config` and similar settings objects, are never reported.

    ## Fix safety
    Renames the word to `requires_grad` (`requires_grad_` for the method). Safe for
    keywords, method calls and attribute reads, which raise today; unsafe for an
    attribute assignment, because the corrected line starts to do what it says
    (freezing or unfreezing the tensor) and training changes.
    """

    code: ClassVar[str] = "AGL013"
    name: ClassVar[str] = "requires-grad-typo"
    message: ClassVar[str] = "`{word}` is a misspelling of `{correct}`{consequence}"
    fix_safety = frozenset({"safe", "unsafe"})
    triggers = ("req", "Req")

    VALID = (
        """
        import torch
        w = torch.zeros(3, requires_grad=True)
        w.requires_grad_()
        w.retain_grad()
        print(w.requires_grad, w.retains_grad)
        """,
        # The user's own function and settings may spell it as they like.
        """
        import torch

        def freeze(model, require_grad=False):
            for p in model.parameters():
                p.requires_grad = require_grad

        freeze(net, require_grad=False)
        """,
        """
        import torch

        class Net(torch.nn.Module):
            def __init__(self, args):
                super().__init__()
                self.require_grad = args.require_grad
                self.hparams.require_grad = True
        """,
        """
        import torch
        from utils import set_requires_grad
        set_requires_grad(net, False)
        x._requires_grad = True
        p = torch.Tensor._make_subclass(cls, data, require_grad=True)
        """,
    )
    INVALID = (
        Invalid(
            """
            import torch
            for p in model.parameters():
                p.require_grad = False
            """,
            lines=(3,),
            fixed="""
            import torch
            for p in model.parameters():
                p.requires_grad = False
            """,
            unsafe=True,
        ),
        Invalid(
            """
            import torch
            import torch.nn as nn
            w = torch.zeros(3, requires_gradient=True)
            b = nn.Parameter(torch.ones(3), requires_grads=False)
            c = w.new_zeros(2, requiresgrad=True)
            """,
            lines=(3, 4, 5),
            fixed="""
            import torch
            import torch.nn as nn
            w = torch.zeros(3, requires_grad=True)
            b = nn.Parameter(torch.ones(3), requires_grad=False)
            c = w.new_zeros(2, requires_grad=True)
            """,
        ),
        Invalid(
            """
            import torch
            x = torch.randn(4)
            x.require_grad_()
            if x.required_grad:
                pass
            """,
            lines=(3, 4),
            fixed="""
            import torch
            x = torch.randn(4)
            x.requires_grad_()
            if x.requires_grad:
                pass
            """,
        ),
        Invalid(
            """
            import torch

            class Head(torch.nn.Module):
                def freeze(self):
                    self.fc.weight.require_grad = False
            """,
            lines=(5,),
            fixed="""
            import torch

            class Head(torch.nn.Module):
                def freeze(self):
                    self.fc.weight.requires_grad = False
            """,
            unsafe=True,
        ),
        Invalid(
            """
            import torch
            from torch.autograd import Variable
            v = Variable(torch.ones(1), require_gradient=True)
            """,
            lines=(3,),
            fixed="""
            import torch
            from torch.autograd import Variable
            v = Variable(torch.ones(1), requires_grad=True)
            """,
        ),
    )

    def visit_Arg(self, node: cst.Arg) -> None:
        if node.keyword is None or not is_requires_grad_typo(word := node.keyword.value):
            return
        call = self.context.tree.parent(node)
        if isinstance(call, cst.Call) and self._is_torch_call(call):
            fix = PendingFix("Rename to `requires_grad`", "safe", (Replace(node.keyword, "requires_grad"),))
            message = self.message.format(word=word, correct="requires_grad", consequence="; the call will raise")
            self.report(node.keyword, message, fix)

    def __init__(self, context) -> None:
        super().__init__(context)
        self.attributes: list[cst.Attribute] = []

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if is_requires_grad_typo(node.attr.value):
            self.attributes.append(node)

    def finish(self) -> None:
        # Decided after the walk, when the file's tensor evidence is complete.
        for node in self.attributes:
            parent = self.context.tree.parent(node)
            is_method = isinstance(parent, cst.Call) and parent.func is node
            written = self._is_written(node)
            if not (is_method or self._is_tensor(node.value, written)):
                continue
            correct = "requires_grad_" if is_method else "requires_grad"
            fix = PendingFix(f"Rename to `{correct}`", "unsafe" if written else "safe", (Replace(node.attr, correct),))
            consequence = "; this sets a plain Python attribute and leaves `requires_grad` unchanged" if written else ""
            self.report(node, self.message.format(word=node.attr.value, correct=correct, consequence=consequence), fix)

    def _is_torch_call(self, call: cst.Call) -> bool:
        if isinstance(call.func, cst.Attribute) and call.func.attr.value.startswith("_"):
            return False  # private API with its own spelling: `Tensor._make_subclass(cls, t, require_grad=...)`
        qualified = self.context.imports.qualified(call.func)
        if qualified is not None:
            return qualified.startswith("torch.")
        return isinstance(call.func, cst.Attribute) and call.func.attr.value in _TENSOR_METHODS

    def _is_written(self, node: cst.Attribute) -> bool:
        parent = self.context.tree.parent(node)
        if isinstance(parent, cst.AssignTarget):
            return True
        return isinstance(parent, (cst.AugAssign, cst.AnnAssign)) and parent.target is node

    def _is_tensor(self, receiver: cst.BaseExpression, written: bool) -> bool:
        name = dotted_name(receiver)
        if name is not None:
            parts = name.split(".")
            if name in ("self", "cls") or any(part in _SETTINGS_OBJECTS - {"self", "cls"} for part in parts):
                return False
        # Writing a flag of this name shows the intent whatever the receiver's type.
        return written or self.context.torch.is_tensor(receiver)
