from __future__ import annotations

from typing import ClassVar

import libcst as cst

from ..context import FileContext
from ..fixes import PendingFix, Replace
from ..rule import Invalid, Rule
from ..syntax import dotted_name, terminal_name
from ._tensor_evidence import OUT_OF_PLACE, TensorEvidence

# Blocks whose code runs to see whether it raises: the result is not the point there.
_PROBES = frozenset({"raises", "assertRaises", "assertRaisesRegex", "warns", "assertWarns", "suppress"})


_CELL_MARKERS = ("# %%", "# In[")
_CHAIN_MESSAGE = "`{call}` returns a new tensor and this line throws it away, so it does nothing; assign the result"


class DiscardedTensorResult(Rule):
    """
    ## What it does
    Flags an out-of-place tensor method whose result is dropped as a bare
    statement: `h.detach()`, `x.clamp(0, 1)`, `x.float()`, `x.to(device)`,
    `x.cuda()`, on a name the file shows to be a tensor.

    A name counts as a tensor when the file makes it with a torch function or a
    tensor method, annotates it `torch.Tensor`, takes it from `.parameters()`, or
    calls `backward()` on it; never when it is also assigned a module or an object
    of a class (`nn.Linear(...)`, `Net()`, `from_pretrained(...)`).

    ## Why is this bad?
    These methods return a new tensor and leave the receiver as it was. Unlike
    `model.to(device)`, which moves an `nn.Module` in place, `x.to(device)` on a
    tensor moves nothing: `x` stays on the CPU (or keeps its dtype, its graph, its
    range) and the line silently does nothing. A hidden state "detached" this way
    keeps its whole history, and memory grows with every batch.

    ## Example
    ```python
    x = torch.randn(8, 3)
    x.to(device)
    hidden.detach()
    ```

    ## Use instead
    ```python
    x = torch.randn(8, 3)
    x = x.to(device)
    hidden = hidden.detach()  # or hidden.detach_()
    ```

    ## Known false positives
    Code that calls a method only to see whether it raises is not reported inside
    `try:` or `with pytest.raises(...)`, nor the last statement of a cell in a
    percent-format script (`# %%`, or `# In[ ]:` from an exported notebook), which
    Jupyter displays. A name with no tensor evidence in the file
    (a function's unannotated parameter) is not reported at all, which misses some
    real mistakes.

    ## Fix safety
    Unsafe: the result is assigned back (`x = x.to(device)`), which is what the line
    meant but changes what later code computes with. Offered when the receiver is a
    name or an attribute path that can be assigned.
    """

    code: ClassVar[str] = "AGL015"
    name: ClassVar[str] = "discarded-tensor-result"
    message: ClassVar[str] = (
        "`{call}` returns a new tensor and this line throws it away, so `{receiver}` is unchanged; "
        "assign the result (`{receiver} = {call}`)"
    )
    fix_safety = frozenset({"unsafe"})
    triggers = tuple(f".{method}(" for method in sorted(OUT_OF_PLACE))

    VALID = (
        # An nn.Module moves and casts in place.
        """
        import torch
        from torch import nn
        model = nn.Linear(3, 1)
        model.to(device)
        model.cuda()
        model.float()
        """,
        """
        import torch
        net = Net()
        net.cuda()
        criterion = nn.CrossEntropyLoss()
        criterion.to(device)
        """,
        # The result is used.
        """
        import torch
        x = torch.randn(3)
        x = x.to(device)
        y = x.detach()
        print(x.float())
        """,
        # A name the file says nothing about: unsure, so silent.
        """
        import torch
        def run(model, h):
            h.detach()
            model.to(device)
        """,
        # Called to see whether it raises.
        """
        import torch
        import pytest
        x = torch.randn(3)
        with pytest.raises(RuntimeError):
            x.to('meta')
        try:
            x.cuda()
        except RuntimeError:
            pass
        """,
        # The last line of a notebook cell is displayed.
        """
        import torch
        # %%
        x = torch.arange(6)
        x.view(2, 3)
        # %%
        x.view(3, 2)
        """,
        # A set's add, a thread's detach: not tensors.
        """
        import torch
        seen = set()
        seen.add(1)
        x = torch.randn(3)
        x = Wrapper(x)
        x.float()
        """,
    )
    INVALID = (
        Invalid(
            """
            import torch
            x = torch.randn(8, 3)
            x.to(device)
            y = model(x)
            """,
            lines=(3,),
            fixed="""
            import torch
            x = torch.randn(8, 3)
            x = x.to(device)
            y = model(x)
            """,
            unsafe=True,
        ),
        Invalid(
            """
            import torch
            def step(model, x: torch.Tensor, hidden):
                out, hidden = model(x, hidden)
                x.cuda()
                x.clamp(0, 1)
                return out
            """,
            lines=(4, 5),
            fixed="""
            import torch
            def step(model, x: torch.Tensor, hidden):
                out, hidden = model(x, hidden)
                x = x.cuda()
                x = x.clamp(0, 1)
                return out
            """,
            unsafe=True,
        ),
        Invalid(
            """
            import torch
            for p in model.parameters():
                p.grad.detach()
                state[0].float()
            """,
            lines=(3,),
            fixed="""
            import torch
            for p in model.parameters():
                p.grad = p.grad.detach()
                state[0].float()
            """,
            unsafe=True,
        ),
        # A chain: reported, with no single name to assign to.
        Invalid(
            """
            import torch
            h = torch.zeros(1, 4)
            h.detach().cpu()
            """,
            lines=(3,),
        ),
    )

    def __init__(self, context: FileContext) -> None:
        super().__init__(context)
        self._evidence: TensorEvidence | None = None

    def visit_Expr(self, node: cst.Expr) -> None:
        call = node.value
        if type(call) is not cst.Call or type(call.func) is not cst.Attribute:
            return
        method = call.func.attr.value
        if method not in OUT_OF_PLACE or self._probing(node) or self._shown_as_cell_result(node):
            return
        if method == "type" and not call.args:
            return  # `x.type()` returns the type's name
        receiver = call.func.value
        if self._evidence is None:
            self._evidence = TensorEvidence(self.context)
        if not self._evidence.is_tensor(receiver, node):
            return
        code = self.context.tree.code
        fix = None
        if dotted_name(receiver) is not None:
            assignment = f"{code(receiver)} = {code(call)}"
            fix = PendingFix(f"Assign the result: `{assignment}`", "unsafe", (Replace(call, assignment),))
        root = _chain_root(receiver)
        if dotted_name(root) is None or self.context.imports.qualified(root) is not None:
            message = _CHAIN_MESSAGE.format(call=code(call))  # `torch.cat(xs).squeeze(0)`: no name to keep it in
        else:
            message = self.message.format(call=code(call), receiver=code(root))
        self.report(call, message, fix)

    def _shown_as_cell_result(self, node: cst.Expr) -> bool:
        """The last statement of a cell in a percent-format script (``# %%``, a notebook
        exported as ``# In[ ]:``) is displayed, not thrown away."""
        source = self.context.source
        if "# %%" not in source and "# In[" not in source:
            return False
        tree, module = self.context.tree, self.context.module
        statement = tree.statement_of(node)
        if tree.parent(statement) is not module or statement.body[-1] is not node:  # type: ignore[attr-defined]
            return False
        index = next(i for i, s in enumerate(module.body) if s is statement)
        if index + 1 == len(module.body):
            return True
        following = module.body[index + 1].leading_lines
        return any(line.comment is not None and line.comment.value.startswith(_CELL_MARKERS) for line in following)

    def _probing(self, node: cst.Expr) -> bool:
        for ancestor in self.context.tree.ancestors(node):
            if isinstance(ancestor, cst.Try):
                return True
            if isinstance(ancestor, cst.With) and any(
                isinstance(item.item, cst.Call) and terminal_name(item.item.func) in _PROBES for item in ancestor.items
            ):
                return True
            if isinstance(ancestor, (cst.FunctionDef, cst.ClassDef)):
                return False
        return False


def _chain_root(receiver: cst.BaseExpression) -> cst.BaseExpression:
    """``h`` for ``h.detach().cpu()``: the tensor the chain of methods starts from."""
    while isinstance(receiver, cst.Call) and isinstance(receiver.func, cst.Attribute):
        receiver = receiver.func.value
    return receiver
