from __future__ import annotations

from typing import ClassVar

import libcst as cst

from ..fixes import PendingFix, RemoveStatement, Replace
from ..rule import Invalid, Rule
from ..syntax import dotted_name, keyword

_FIX_DESCRIPTION = "Remove the ignored `volatile` flag; put the inference code under `with torch.no_grad():`"


class VolatileFlag(Rule):
    """
    ## What it does
    Flags the removed `volatile=` keyword (on `Variable` and any other torch call)
    and assignments such as `x.volatile = True`.

    ## Why is this bad?
    `volatile=True` was how PyTorch 0.3 and earlier turned graph recording off for
    inference. Since 0.4 the flag is ignored (`Variable` only warns), so evaluation
    code written around it records a full autograd graph for every batch: it runs
    slower and keeps activations alive, often until memory runs out, while the
    results look right.

    ## Example
    ```python
    for images, labels in test_loader:
        images = Variable(images, volatile=True)
        outputs = model(images)
    ```

    ## Use instead
    ```python
    with torch.no_grad():
        for images, labels in test_loader:
            outputs = model(images)
    ```

    ## Known false positives
    None known: the keyword is only reported on calls that resolve to torch (or to a
    file's own wrapper forwarding `*args, **kwargs` to a torch API), and the
    assignment only on tensors, not on `self` or other objects with a `volatile` field.

    ## Fix safety
    Unsafe. The keyword (or the `x.volatile = ...` statement) is removed; the
    inference code still has to be put under `with torch.no_grad():` by hand, which
    is what the fix's message says.
    """

    code: ClassVar[str] = "AGL012"
    name: ClassVar[str] = "volatile-flag"
    message: ClassVar[str] = (
        "`volatile` was removed in PyTorch 0.4 and is ignored, so this builds a graph; "
        "run inference under `with torch.no_grad():` instead"
    )
    fix_safety = frozenset({"unsafe"})
    triggers = ("volatile",)

    VALID = (
        """
        import torch
        with torch.no_grad():
            out = model(torch.ones(2))
        """,
        # Not a torch call, and not a tensor's attribute.
        """
        import torch
        register = Register(address=4, volatile=True)
        """,
        """
        import torch
        class Cache:
            def __init__(self):
                self.volatile = True
        """,
        """
        import torch
        config.volatile = False
        print(args.volatile)
        """,
    )
    INVALID = (
        Invalid(
            """
            import torch
            from torch.autograd import Variable
            x = Variable(torch.ones(2), volatile=True)
            y = Variable(torch.ones(2), volatile=True, requires_grad=False)
            """,
            lines=(3, 4),
            fixed="""
            import torch
            from torch.autograd import Variable
            x = Variable(torch.ones(2))
            y = Variable(torch.ones(2), requires_grad=False)
            """,
            unsafe=True,
        ),
        Invalid(
            """
            import torch
            import torch.autograd as ag
            v = ag.Variable(
                torch.zeros(3),
                volatile=True,
            )
            """,
            lines=(5,),
            fixed="""
            import torch
            import torch.autograd as ag
            v = ag.Variable(
                torch.zeros(3),
            )
            """,
            unsafe=True,
        ),
        Invalid(
            """
            import torch
            inputs = torch.randn(4, 3)
            inputs.volatile = True
            out = net(inputs)
            """,
            lines=(3,),
            fixed="""
            import torch
            inputs = torch.randn(4, 3)
            out = net(inputs)
            """,
            unsafe=True,
        ),
        Invalid(
            """
            import torch
            x = torch.tensor([1.0], volatile=True)
            """,
            lines=(2,),
            fixed="""
            import torch
            x = torch.tensor([1.0])
            """,
            unsafe=True,
        ),
        Invalid(
            """
            import torch
            import torch.autograd as autograd
            USE_CUDA = torch.cuda.is_available()
            Variable = lambda *args, **kwargs: autograd.Variable(*args, **kwargs).cuda() if USE_CUDA else autograd.Variable(*args, **kwargs)
            state = Variable(torch.zeros(4), volatile=True)
            q = Variable(torch.ones(4))
            """,
            lines=(5,),
            fixed="""
            import torch
            import torch.autograd as autograd
            USE_CUDA = torch.cuda.is_available()
            Variable = lambda *args, **kwargs: autograd.Variable(*args, **kwargs).cuda() if USE_CUDA else autograd.Variable(*args, **kwargs)
            state = Variable(torch.zeros(4))
            q = Variable(torch.ones(4))
            """,
            unsafe=True,
        ),
        Invalid(
            """
            import torch
            from torch import autograd

            def Var(*args, **kwargs):
                v = autograd.Variable(*args, **kwargs)
                return v.cuda() if torch.cuda.is_available() else v

            inputs = Var(torch.randn(2, 3), volatile=True)
            """,
            lines=(8,),
            fixed="""
            import torch
            from torch import autograd

            def Var(*args, **kwargs):
                v = autograd.Variable(*args, **kwargs)
                return v.cuda() if torch.cuda.is_available() else v

            inputs = Var(torch.randn(2, 3))
            """,
            unsafe=True,
        ),
        Invalid(
            """
            import torch
            from torch.autograd import *
            x = Variable(torch.ones(2), volatile=True)
            """,
            lines=(3,),
            fixed="""
            import torch
            from torch.autograd import *
            x = Variable(torch.ones(2))
            """,
            unsafe=True,
        ),
    )

    def visit_Call(self, node: cst.Call) -> None:
        flag = keyword(node, "volatile")
        if flag is None:
            return
        qualified = self.context.imports.qualified(node.func) or self.context.imports.wrapped(node.func)
        if qualified is None or not (qualified == "torch" or qualified.startswith("torch.")):
            return
        self.report(flag, fix=_drop_keyword(self.context.module, node, flag))

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            attribute = target.target
            if not (isinstance(attribute, cst.Attribute) and attribute.attr.value == "volatile"):
                continue
            if self._is_tensor(attribute.value):
                self.report(attribute, fix=self._remove_fix(node))

    def _is_tensor(self, receiver: cst.BaseExpression) -> bool:
        name = dotted_name(receiver)
        if name is None or name in ("self", "cls"):
            return False
        return self.context.torch.is_tensor(receiver)

    def _remove_fix(self, assign: cst.Assign) -> PendingFix | None:
        statement = self.context.tree.parent(assign)
        if len(assign.targets) != 1 or not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
            return None
        block = self.context.tree.parent(statement)
        if isinstance(block, cst.IndentedBlock) and len(block.body) == 1:
            return None  # removing the only statement would leave an empty block
        return PendingFix(_FIX_DESCRIPTION, "unsafe", (RemoveStatement(statement),))


def _drop_keyword(module: cst.Module, call: cst.Call, flag: cst.Arg) -> PendingFix:
    args = [arg for arg in call.args if arg is not flag]
    if args and call.args[-1] is flag:
        # The removed keyword's comma (or its absence) now ends the argument list.
        args[-1] = args[-1].with_changes(comma=flag.comma)
    code = module.code_for_node(call.with_changes(args=args))
    return PendingFix(_FIX_DESCRIPTION, "unsafe", (Replace(call, code),))
