from __future__ import annotations

from typing import ClassVar

import libcst as cst

from ..rule import Invalid, Rule
from ..syntax import dotted_name, walk
from ._repair import no_grad_update


class InplaceUpdateOutsideNoGrad(Rule):
    """
    ## What it does
    Flags an in-place update of a tensor from its own gradient (`w -= lr * w.grad`,
    `w.sub_(lr * w.grad)`, `w.add_(w.grad, alpha=-lr)`) outside `torch.no_grad()`.

    ## Why is this bad?
    With gradient recording on, the update itself becomes part of the graph. On a
    leaf that requires grad PyTorch refuses it ("a leaf Variable that requires grad
    is being used in an in-place operation"); people then reach for `.data`, which
    hides the update from autograd instead. The update belongs under
    `torch.no_grad()`, which is what every optimizer does.

    ## Example
    ```python
    loss.backward()
    w -= 0.1 * w.grad
    ```

    ## Use instead
    ```python
    loss.backward()
    with torch.no_grad():
        w -= 0.1 * w.grad
    w.grad = None
    ```

    ## Known false positives
    A function or method whose every same-file call (`f()`, `self.f()`) runs under
    `torch.no_grad()` is understood; one called from another module, or through another
    object (d2l's `SGD.step` run as `self.optim.step()` under `no_grad`), is not, so decorate
    it with `@torch.no_grad()`. Updates of part of a tensor (`W[i] -= lr * W.grad[i]`)
    and through a gradient alias (`g = w.grad; w -= lr * g`) count as updates.

    ## Fix safety
    Unsafe: the update is wrapped in `with torch.no_grad():`, and in a loop that never
    clears gradients, `w.grad = None` goes at the top of the loop body (just before the
    backward when the iteration reads a gradient earlier).
    """

    code: ClassVar[str] = "AGL011"
    name: ClassVar[str] = "inplace-update-outside-no-grad"
    message: ClassVar[str] = (
        "`{name}` is updated in place from its gradient while autograd records; do the update under `torch.no_grad()`"
    )
    fix_safety = frozenset({"unsafe"})
    triggers = ("grad",)

    VALID = (
        """
        import torch
        with torch.no_grad():
            w -= 0.1 * w.grad
        """,
        """
        import torch
        @torch.no_grad()
        def sgd(params, lr):
            for p in params:
                p.add_(p.grad, alpha=-lr)
        """,
        # Called only under no_grad in this file.
        """
        import torch
        def sgd(params, lr):
            for p in params:
                p -= lr * p.grad
        with torch.no_grad():
            sgd(model.parameters(), 0.1)
        """,
        # Clearing gradients is not an update.
        """
        import torch
        w.grad.zero_()
        w.grad -= w.grad
        """,
        # Updating through .data is AGL004's business.
        """
        import torch
        w.data -= 0.1 * w.grad
        """,
        """
        import torch
        def sgd(params, lr):
            for p in params:
                p -= lr * p.grad
        @torch.no_grad()
        def step(model):
            sgd(model.parameters(), 0.1)
        """,
        """
        import torch
        class Trainer:
            def update(self):
                for p in self.params:
                    p.sub_(self.lr * p.grad)
            def fit(self):
                for x in self.data:
                    self.model(x).sum().backward()
                    with torch.no_grad():
                        self.update()
                    self.model.zero_grad()
        """,
    )
    INVALID = (
        Invalid(
            """
            import torch
            for _ in range(10):
                loss = (w * x).sum()
                loss.backward()
                w -= 0.1 * w.grad
            """,
            lines=(5,),
            fixed="""
            import torch
            for _ in range(10):
                w.grad = None
                loss = (w * x).sum()
                loss.backward()
                with torch.no_grad():
                    w -= 0.1 * w.grad
            """,
            unsafe=True,
        ),
        Invalid(
            """
            import torch
            for _ in range(10):
                loss = (w * x).sum()
                loss.backward()
                w.add_(w.grad, alpha=-0.1)
                w.grad.zero_()
            """,
            lines=(5,),
            fixed="""
            import torch
            for _ in range(10):
                loss = (w * x).sum()
                loss.backward()
                with torch.no_grad():
                    w.add_(w.grad, alpha=-0.1)
                w.grad.zero_()
            """,
            unsafe=True,
        ),
        Invalid(
            """
            import torch
            def step(params, lr):
                for p in params:
                    p.sub_(lr * p.grad)
            """,
            lines=(4,),
        ),
        Invalid(
            """
            import torch
            emb = torch.randn(100, 8, requires_grad=True)
            for ids in batches:
                loss = emb[ids].sum()
                loss.backward()
                emb[ids] -= 0.1 * emb.grad[ids]
                emb.grad.zero_()
            """,
            lines=(6,),
            fixed="""
            import torch
            emb = torch.randn(100, 8, requires_grad=True)
            for ids in batches:
                loss = emb[ids].sum()
                loss.backward()
                with torch.no_grad():
                    emb[ids] -= 0.1 * emb.grad[ids]
                emb.grad.zero_()
            """,
            unsafe=True,
        ),
        Invalid(
            """
            import torch
            params = [torch.randn(3, requires_grad=True) for _ in range(2)]
            for step in range(10):
                loss = sum((p ** 2).sum() for p in params)
                loss.backward()
                for i in range(len(params)):
                    params[i] -= 0.1 * params[i].grad
            """,
            lines=(7,),
            fixed="""
            import torch
            params = [torch.randn(3, requires_grad=True) for _ in range(2)]
            for step in range(10):
                loss = sum((p ** 2).sum() for p in params)
                loss.backward()
                for i in range(len(params)):
                    with torch.no_grad():
                        params[i] -= 0.1 * params[i].grad
                    params[i].grad = None
            """,
            unsafe=True,
        ),
        Invalid(
            """
            import torch
            w = torch.randn(3, requires_grad=True)
            for step in range(10):
                loss = (w ** 2).sum()
                loss.backward()
                g = w.grad
                w.sub_(0.1 * g)
                w.grad = None
            """,
            lines=(7,),
            fixed="""
            import torch
            w = torch.randn(3, requires_grad=True)
            for step in range(10):
                loss = (w ** 2).sum()
                loss.backward()
                g = w.grad
                with torch.no_grad():
                    w.sub_(0.1 * g)
                w.grad = None
            """,
            unsafe=True,
        ),
        Invalid(
            """
            import torch
            def sgd(params, lr):
                for p in params:
                    p -= lr * p.grad
            with torch.no_grad():
                sgd(model.parameters(), 0.1)
            sgd(model.parameters(), 0.1)
            """,
            lines=(4,),
            fixed="""
            import torch
            def sgd(params, lr):
                for p in params:
                    with torch.no_grad():
                        p -= lr * p.grad
                    p.grad = None
            with torch.no_grad():
                sgd(model.parameters(), 0.1)
            sgd(model.parameters(), 0.1)
            """,
            unsafe=True,
        ),
    )

    def __init__(self, context) -> None:
        super().__init__(context)
        self.candidates: list[cst.AugAssign | cst.Call] = []
        # The tensor whose gradient each candidate reads: `W` for `W[i] -= lr * W.grad[i]`, `params[i]` for
        # `params[i] -= lr * params[i].grad`.
        self.owners: dict[cst.CSTNode, cst.BaseExpression] = {}

    def finish(self) -> None:
        context = self.context
        for node in self.candidates:
            if context.torch.in_no_grad(node):
                continue
            target = self.owners.get(node) if context.torch.update_target(node) is not None else None
            name = context.module.code_for_node(target) if target is not None else None
            if name is None or _through_data_or_grad(node):
                continue
            statement = context.tree.statement_of(node)
            update = (
                context.module.code_for_node(statement.body[0])
                if isinstance(statement, cst.SimpleStatementLine)
                else ""
            )
            fix = (
                no_grad_update(context, statement, update, target, "Update under no_grad")
                if update and target
                else None
            )
            self.report(node, self.message.format(name=name), fix)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        owner = self._own_grad(node.target, node.value)
        if owner is not None:
            self.candidates.append(node)
            self.owners[node] = owner

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value.endswith("_") and not func.attr.value.startswith("_"):
            for arg in node.args:
                owner = self._own_grad(func.value, arg.value)
                if owner is not None:
                    self.candidates.append(node)
                    self.owners[node] = owner
                    return

    def _own_grad(self, target: cst.BaseExpression, value: cst.BaseExpression) -> cst.BaseExpression | None:
        """Does ``value`` read the target's own gradient: ``w.grad``, ``W.grad[i]`` for ``W[i]``,
        ``params[i].grad`` for ``params[i]``, or ``g`` after ``g = w.grad``?"""
        base = _base(target)
        name = dotted_name(base)
        if name is None:
            return None
        code = self.context.module.code_for_node
        whole = code(target) if isinstance(target, cst.Subscript) else None
        owners = self.context.facts.grad_owners
        for n in walk(value):
            if isinstance(n, cst.Attribute) and n.attr.value == "grad":
                receiver = n.value
                if dotted_name(receiver) == name:
                    return base
                if whole is not None and isinstance(receiver, cst.Subscript) and code(receiver) == whole:
                    return target
            elif isinstance(n, cst.Name) and owners.get(n.value) == name:
                return base
        return None


def _base(target: cst.BaseExpression) -> cst.BaseExpression:
    """``W`` for ``W[idx]`` (an update of part of a tensor), else the target itself."""
    while isinstance(target, cst.Subscript):
        target = target.value
    return target


def _through_data_or_grad(node: cst.AugAssign | cst.Call) -> bool:
    target: cst.BaseExpression
    if isinstance(node, cst.AugAssign):
        target = node.target
    elif isinstance(node.func, cst.Attribute):
        target = node.func.value
    else:
        return False
    return isinstance(target, cst.Attribute) and target.attr.value in ("data", "grad")
