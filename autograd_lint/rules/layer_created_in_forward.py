from __future__ import annotations

from typing import ClassVar

import libcst as cst

from ..context import FileContext
from ..rule import Invalid, Rule
from ..syntax import dotted_name, walk
from ._modules import ModuleClasses


class LayerCreatedInForward(Rule):
    """
    ## What it does
    Flags `nn.Parameter(...)` or a layer with weights (`nn.Linear`, `nn.Conv2d`,
    `nn.Embedding`, `nn.LSTM`, a norm layer, or a module class of the same file
    that owns parameters) constructed inside an `nn.Module`'s `forward()`.

    ## Why is this bad?
    Every call of `forward()` builds the layer again, with fresh random weights. The
    optimizer was given `model.parameters()` before those weights existed, so they
    are never trained; the output is noise from a new random projection at each
    step, and the loss plateaus while nothing raises.

    ## Example
    ```python
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 16, 3)

        def forward(self, x):
            x = self.conv(x).flatten(1)
            return nn.Linear(x.shape[1], 10)(x)
    ```

    ## Use instead
    Build the layer once in `__init__` and only call it in `forward()`; when its
    size depends on the input, use a lazy layer (`nn.LazyLinear(10)`) in `__init__`:
    ```python
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 16, 3)
            self.head = nn.LazyLinear(10)

        def forward(self, x):
            return self.head(self.conv(x).flatten(1))
    ```

    ## Known false positives
    Lazy initialisation on the first call, assigned to `self` under an `if`
    (`if self.head is None: self.head = nn.Linear(...)`), registers the layer once
    and is not reported; the optimizer must still be built after that first call.
    Layers without weights (`nn.ReLU()`, `nn.Dropout(p)`) are not reported.

    ## Fix safety
    No fix: where the layer belongs (`__init__`) and what sizes it needs cannot be
    read from `forward()` alone.
    """

    code: ClassVar[str] = "AGL019"
    name: ClassVar[str] = "layer-created-in-forward"
    message: ClassVar[str] = (
        "`{layer}` is built inside `forward()`, so every call makes fresh random weights that no optimizer "
        "holds and that are never trained; build it once in `__init__` and call it here"
    )
    triggers = ("forward",)

    VALID = (
        """
        import torch
        from torch import nn
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(4, 2)
            def forward(self, x):
                return nn.ReLU()(self.fc(x))
        """,
        # Lazy initialisation on the first call.
        """
        import torch
        from torch import nn
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = None
            def forward(self, x):
                if self.fc is None:
                    self.fc = nn.Linear(x.shape[-1], 2)
                return self.fc(x)
        """,
        # Not a module's forward.
        """
        import torch
        from torch import nn
        class Pipeline:
            def forward(self, x):
                return nn.Linear(4, 2)(x)
        """,
        # Functional calls and weightless layers.
        """
        import torch
        from torch import nn
        import torch.nn.functional as F
        class Net(nn.Module):
            def forward(self, x, w):
                return nn.Dropout(0.1)(F.linear(x, w))
        """,
    )
    INVALID = (
        Invalid(
            """
            import torch
            from torch import nn
            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.conv = nn.Conv2d(3, 16, 3)
                def forward(self, x):
                    x = self.conv(x).flatten(1)
                    return nn.Linear(x.shape[1], 10)(x)
            """,
            lines=(9,),
        ),
        # A Parameter, a file's own block with weights, and a layer assigned to self each call.
        Invalid(
            """
            import torch
            import torch.nn as nn
            class Block(nn.Module):
                def __init__(self, d):
                    super().__init__()
                    self.proj = nn.Linear(d, d)
            class Model(Block):
                def forward(self, x):
                    scale = nn.Parameter(torch.ones(x.shape[-1]))
                    self.norm = torch.nn.LayerNorm(x.shape[-1])
                    return Block(x.shape[-1])(self.norm(x)) * scale
            """,
            lines=(9, 10, 11),
        ),
    )

    def __init__(self, context: FileContext) -> None:
        super().__init__(context)
        self.modules = ModuleClasses(context)

    def finish(self) -> None:
        for forward in self.context.facts.functions.get("forward", ()):
            if not self.modules.is_module_method(forward):
                continue
            for node in walk(forward.body):
                if isinstance(node, cst.Call) and self.modules.builds_weights(node) and not self._lazy(node, forward):
                    layer = self.context.tree.code(node.func) + "(...)"
                    self.report(node, self.message.format(layer=layer))

    def _lazy(self, call: cst.Call, forward: cst.FunctionDef) -> bool:
        """``self.x = nn.Linear(...)`` under an ``if`` in ``forward``: built once, on the first call."""
        tree = self.context.tree
        statement = tree.statement_of(call)
        body = statement.body if isinstance(statement, cst.SimpleStatementLine) else ()
        first = body[0] if len(body) == 1 else None
        assigned = (
            isinstance(first, cst.Assign)
            and first.value is call
            and all((dotted_name(t.target) or "").startswith("self.") for t in first.targets)
        )
        if not assigned:
            return False
        for ancestor in tree.ancestors(statement):
            if ancestor is forward:
                return False
            if isinstance(ancestor, cst.If):
                return True
        return False
