from __future__ import annotations

from typing import ClassVar

import libcst as cst

from ..rule import Invalid, Rule
from ..syntax import method_call, names_in, walk
from ._repair import no_grad_update

_INPLACE = {cst.Subtract: "-=", cst.Add: "+="}


class LeafRebound(Rule):
    """
    ## What it does
    Flags `w = w - lr * w.grad` in a loop: a parameter rebound to the result of its
    own update.

    ## Why is this bad?
    The new `w` is the output of an operation, not a leaf: autograd does not fill
    its `.grad` (it stays `None`, or the next step fails on `None`), and every
    iteration chains the graph of all earlier updates onto the new one. Under
    `torch.no_grad()` the new `w` does not require grad at all, so the next loss does
    not depend on anything trainable.

    ## Example
    ```python
    for _ in range(100):
        loss = ((w * x - y) ** 2).mean()
        loss.backward()
        w = w - 0.1 * w.grad
    ```

    ## Use instead
    ```python
    for _ in range(100):
        loss = ((w * x - y) ** 2).mean()
        loss.backward()
        with torch.no_grad():
            w -= 0.1 * w.grad
        w.grad = None
    ```

    Tuple rebinding (`x, y = x - lr * x.grad, y - lr * y.grad`) is reported for each name.

    ## Known false positives
    Rebinding and then calling `w.requires_grad_()` anywhere in the loop (a fresh leaf
    each iteration) is correct and not reported.

    ## Fix safety
    Unsafe: the update becomes in place under `torch.no_grad()`, and the gradient is
    cleared at the top of the loop body (before its backward) when the loop does not
    clear it already. A tuple rebinding becomes one in-place update per name, offered
    only when no value reads another target.
    """

    code: ClassVar[str] = "AGL010"
    name: ClassVar[str] = "leaf-rebound"
    message: ClassVar[str] = (
        "`{name}` is rebound to the result of its own update, so it is no longer a leaf "
        "and its next `.grad` is `None`; update it in place under `torch.no_grad()`"
    )
    fix_safety = frozenset({"unsafe"})
    triggers = ("grad",)

    VALID = (
        """
        import torch
        for _ in range(3):
            loss = (w * x).sum()
            loss.backward()
            with torch.no_grad():
                w -= 0.1 * w.grad
            w.grad = None
        """,
        # A fresh leaf every iteration.
        """
        import torch
        for _ in range(3):
            loss = (w * x).sum()
            loss.backward()
            w = (w - 0.1 * w.grad).detach().requires_grad_()
        """,
        """
        import torch
        for _ in range(3):
            loss = (w * x).sum()
            loss.backward()
            w = w.detach() - 0.1 * w.grad
            w.requires_grad_()
        """,
        """
        import torch
        for _ in range(3):
            loss = (w * x).sum()
            loss.backward()
            with torch.no_grad():
                w = w - 0.1 * w.grad
            print(loss.item())
            w.requires_grad_()
        """,
        # Outside a loop: a one-off step.
        """
        import torch
        w = w - 0.1 * w.grad
        """,
    )
    INVALID = (
        Invalid(
            """
            import torch
            for _ in range(3):
                loss = (w * x).sum()
                loss.backward()
                w = w - 0.1 * w.grad
            """,
            lines=(5,),
            fixed="""
            import torch
            for _ in range(3):
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
            import torch as T
            while True:
                loss = f(b)
                loss.backward()
                with T.no_grad():
                    b = b - lr * b.grad  # step
            """,
            lines=(6,),
            fixed="""
            import torch as T
            while True:
                b.grad = None
                loss = f(b)
                loss.backward()
                with T.no_grad():
                    b -= lr * b.grad  # step
            """,
            unsafe=True,
        ),
        Invalid(
            """
            import torch
            for epoch in range(5):
                for x, y in data:
                    (model(x, w) - y).pow(2).sum().backward()
                    w = torch.clamp(w - lr * w.grad, 0, 1)
            """,
            lines=(5,),
            fixed="""
            import torch
            for epoch in range(5):
                for x, y in data:
                    w.grad = None
                    (model(x, w) - y).pow(2).sum().backward()
                    with torch.no_grad():
                        w.copy_(torch.clamp(w - lr * w.grad, 0, 1))
            """,
            unsafe=True,
        ),
        Invalid(
            """
            import torch
            x = torch.randn(3, requires_grad=True)
            y = torch.randn(3, requires_grad=True)
            for _ in range(100):
                loss = (x * y - 1).pow(2).sum()
                loss.backward()
                x, y = x - lr * x.grad, y - lr * y.grad
            """,
            lines=(7, 7),
            fixed="""
            import torch
            x = torch.randn(3, requires_grad=True)
            y = torch.randn(3, requires_grad=True)
            for _ in range(100):
                x.grad = None
                y.grad = None
                loss = (x * y - 1).pow(2).sum()
                loss.backward()
                with torch.no_grad():
                    x -= lr * x.grad
                    y -= lr * y.grad
            """,
            unsafe=True,
        ),
        Invalid(
            """
            import torch
            def fit(w, b, data):
                for x, t in data:
                    ((w * x + b - t) ** 2).mean().backward()
                    with torch.no_grad():
                        [w, b] = [w - 0.01 * w.grad, b - 0.01 * b.grad]
            """,
            lines=(6, 6),
            fixed="""
            import torch
            def fit(w, b, data):
                for x, t in data:
                    w.grad = None
                    b.grad = None
                    ((w * x + b - t) ** 2).mean().backward()
                    with torch.no_grad():
                        w -= 0.01 * w.grad
                        b -= 0.01 * b.grad
            """,
            unsafe=True,
        ),
    )

    def visit_Assign(self, node: cst.Assign) -> None:
        context = self.context
        if len(node.targets) != 1 or context.tree.enclosing_loop(node) is None:
            return
        pairs = _rebound_pairs(node.targets[0].target, node.value)
        rebound = [
            (target, value)
            for target, value in pairs
            if _reads_own_grad(value, target.value)
            and method_call(value, "requires_grad_") is None
            and not _made_leaf_again(context, node, target.value)
        ]
        if not rebound:
            return
        statement = context.tree.statement_of(node)
        fix = None
        targets = {target.value for target, _ in pairs}
        # `x, y = x - lr * x.grad, y - lr * y.grad` reads every name before binding any: in place, one
        # after the other, is the same only when no value reads another target.
        if len(rebound) == len(pairs) and all(
            not (names_in(value) & (targets - {target.value})) for target, value in pairs
        ):
            updates = [_in_place(context, value, target.value) for target, value in rebound]
            fix = no_grad_update(context, statement, updates, [t for t, _ in rebound], "Update in place under no_grad")
        for target, _ in rebound:
            self.report(node if len(pairs) == 1 else target, self.message.format(name=target.value), fix)
            fix = None  # one fix rewrites the whole statement


def _rebound_pairs(target: cst.BaseExpression, value: cst.BaseExpression) -> list[tuple[cst.Name, cst.BaseExpression]]:
    """``(name, value)`` for ``w = v`` and for each element of ``w, b = v1, v2`` (or ``[w, b] = [v1, v2]``)."""
    if isinstance(target, cst.Name):
        return [(target, value)]
    if isinstance(target, (cst.Tuple, cst.List)) and isinstance(value, (cst.Tuple, cst.List)):
        if len(target.elements) == len(value.elements) and not any(
            isinstance(e, cst.StarredElement) for e in (*target.elements, *value.elements)
        ):
            pairs = [(t.value, v.value) for t, v in zip(target.elements, value.elements, strict=True)]
            if all(isinstance(t, cst.Name) for t, _ in pairs):
                return pairs  # type: ignore[return-value]
    return []


def _reads_own_grad(value: cst.BaseExpression, name: str) -> bool:
    return any(
        isinstance(n, cst.Attribute)
        and n.attr.value == "grad"
        and isinstance(n.value, cst.Name)
        and n.value.value == name
        for n in walk(value)
    )


def _made_leaf_again(context, node: cst.Assign, name: str) -> bool:
    """Does the loop make ``name`` a leaf again (``w.requires_grad_()``,
    ``w.requires_grad = True``) or keep its gradient (``w.retain_grad()``)?"""
    loop = context.tree.enclosing_loop(node)
    return any(
        isinstance(inner, cst.Attribute)
        and isinstance(inner.value, cst.Name)
        and inner.value.value == name
        and inner.attr.value in ("requires_grad_", "requires_grad", "retain_grad")
        for inner in walk(loop.body)
    )


def _in_place(context, value: cst.BaseExpression, name: str) -> str:
    code = context.module.code_for_node
    if (
        isinstance(value, cst.BinaryOperation)
        and type(value.operator) in _INPLACE
        and isinstance(value.left, cst.Name)
        and value.left.value == name
    ):
        return f"{name} {_INPLACE[type(value.operator)]} {code(value.right)}"
    return f"{name}.copy_({code(value)})"
