from __future__ import annotations

from typing import ClassVar

import libcst as cst

from ..fixes import PendingFix, RemoveStatement, Replace
from ..imports import CANONICAL
from ..rule import Invalid, Rule
from ..semantics import TENSOR_FACTORIES
from ..syntax import dotted_name, is_true, keyword, keyword_argument


class DeprecatedVariable(Rule):
    """
    ## What it does
    Flags every use of `torch.autograd.Variable`, whatever the import form or alias.

    ## Why is this bad?
    Since PyTorch 0.4 tensors carry autograd themselves and `Variable` is a shim kept
    for old code. It does not do what old tutorials say: `Variable(t)` returns a new
    tensor that does *not* require grad even when `t` does, and keywords such as
    `volatile=` are silently ignored. Code written around it usually also uses `.data`
    and the other habits of that era that break gradient tracking.

    ## Example
    ```python
    from torch.autograd import Variable

    x = Variable(torch.rand(5), requires_grad=True)
    target = Variable(torch.tensor([1.0, 2.0]))
    ```

    ## Use instead
    ```python
    x = torch.rand(5, requires_grad=True)
    target = torch.tensor([1.0, 2.0])
    ```

    ## Known false positives
    None known: the name is resolved through the file's imports (`from torch.autograd
    import *` included), so a `Variable` of another library (TensorFlow, MXNet) is not
    reported. Calls of a file's own wrapper that forwards `*args, **kwargs` to
    `Variable` are reported too, without a fix (the wrapper may also move the tensor).

    ## Fix safety
    Safe. `Variable(t)` becomes `t.detach()` (a new tensor cut from the graph, as `Variable` made
    it), or just `t` when `t` is a tensor built right there (`Variable(torch.zeros(3))`),
    `Variable(t, requires_grad=True)` becomes a new leaf with the same values
    (`torch.rand(5, requires_grad=True)` for a factory call, else
    `t.detach().requires_grad_()`), and the import is removed once nothing uses it.
    """

    code: ClassVar[str] = "AGL003"
    name: ClassVar[str] = "deprecated-variable"
    message: ClassVar[str] = "`torch.autograd.Variable` is deprecated; use tensors directly"
    fix_safety = frozenset({"safe"})
    triggers = ("Variable",)

    VALID = (
        """
        import torch
        x = torch.rand(5, requires_grad=True)
        """,
        # Another library's Variable is none of our business.
        """
        import tensorflow as tf
        import torch
        v = tf.Variable(3.0)
        """,
        """
        from mxnet.autograd import Variable
        import torch
        v = Variable(1)
        """,
    )
    INVALID = (
        Invalid(
            """
            import torch
            from torch.autograd import Variable
            x = Variable(torch.rand(5), requires_grad=True)
            """,
            lines=(2, 3),
            fixed="""
            import torch
            x = torch.rand(5, requires_grad=True)
            """,
        ),
        Invalid(
            """
            import torch
            import torch.autograd as ag
            y = ag.Variable(torch.ones(2))
            """,
            lines=(3,),
            fixed="""
            import torch
            import torch.autograd as ag
            y = torch.ones(2)
            """,
        ),
        Invalid(
            """
            import torch as t
            from torch.autograd.variable import Variable as V
            w = t.zeros(3, requires_grad=True)
            v = V(w)
            u = t.autograd.Variable(w.sum(), requires_grad=True)
            """,
            lines=(2, 4, 5),
            fixed="""
            import torch as t
            w = t.zeros(3, requires_grad=True)
            v = w.detach()
            u = w.sum().detach().requires_grad_()
            """,
        ),
        Invalid(
            """
            import torch
            from torch.autograd import Variable
            print(isinstance(torch.ones(1), Variable))
            """,
            lines=(2, 3),
        ),
        Invalid(
            """
            import torch
            from torch.autograd import *
            x = Variable(torch.ones(2), requires_grad=True)
            w = Variable(torch.FloatTensor([1.0]))
            """,
            lines=(3, 4),
            fixed="""
            import torch
            from torch.autograd import *
            x = torch.ones(2, requires_grad=True)
            w = torch.FloatTensor([1.0])
            """,
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
            lines=(4, 4, 5, 6),
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
            lines=(5, 8),
        ),
        Invalid(
            """
            import torch
            from torch.autograd import Variable
            w = torch.ones(2, requires_grad=True)
            h = w * 2
            frozen = Variable(h)
            """,
            lines=(2, 5),
            fixed="""
            import torch
            w = torch.ones(2, requires_grad=True)
            h = w * 2
            frozen = h.detach()
            """,
        ),
        Invalid(
            """
            import torch
            from torch.autograd import Variable
            t = torch.ones(3)
            v = Variable(t)
            v.requires_grad_()
            """,
            lines=(2, 4),
            fixed="""
            import torch
            t = torch.ones(3)
            v = t.detach()
            v.requires_grad_()
            """,
        ),
    )

    def __init__(self, context) -> None:
        super().__init__(context)
        self.uses: list[cst.CSTNode] = []
        self.imports: list[tuple[cst.CSTNode, cst.ImportFrom, cst.ImportAlias]] = []
        self.fixable_uses = 0

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if node.relative or node.module is None or isinstance(node.names, cst.ImportStar):
            return
        module = dotted_name(node.module)
        for alias in node.names:
            if module is not None and isinstance(alias.name, cst.Name):
                full = CANONICAL.get(f"{module}.{alias.name.value}", f"{module}.{alias.name.value}")
                if _is_variable(full):
                    self.imports.append((self.context.tree.statement_of(node), node, alias))

    def visit_Name(self, node: cst.Name) -> None:
        if node.value in self.context.imports.names and self._is_use(node):
            if _is_variable(self.context.imports.qualified(node) or ""):
                self.uses.append(node)

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if node.attr.value == "Variable" and _is_variable(self.context.imports.qualified(node) or ""):
            self.uses.append(node)

    def visit_Call(self, node: cst.Call) -> None:
        # A file's own wrapper (`Variable = lambda *a, **k: autograd.Variable(*a, **k).cuda()`) is
        # `Variable` all the same. No fix: the wrapper may do more (move to a device) than the call shows.
        if _is_variable(self.context.imports.wrapped(node.func) or ""):
            name = self.context.module.code_for_node(node.func)
            self.report(node, f"`{name}` wraps the deprecated `torch.autograd.Variable`; use tensors directly")

    def _is_use(self, node: cst.Name) -> bool:
        parent = self.context.tree.parent(node)
        if isinstance(parent, cst.Attribute) and parent.attr is node:
            return False
        if isinstance(parent, cst.Attribute) and parent.value is node:
            return False  # reported on the whole attribute
        return not isinstance(parent, (cst.ImportAlias, cst.AsName))

    def finish(self) -> None:
        call_edits: list = []
        for use in self.uses:
            call = self.context.tree.parent(use)
            fix = None
            if isinstance(call, cst.Call) and call.func is use:
                fix = self._call_fix(call)
            if fix is not None and call is not None:
                self.fixable_uses += 1
                call_edits.extend(fix.edits)
                self.report(call, fix=fix)
            else:
                self.report(use)
        all_fixable = self.fixable_uses == len(self.uses)
        for statement, node, alias in self.imports:
            fix = None
            if all_fixable:
                fix = _remove_alias_fix(statement, node, alias)
            if fix is not None and call_edits:
                # All or nothing: removing the import while a use waits for a later round (its fix
                # overlapping another rule's) would leave a `Variable` that no longer exists.
                fix = PendingFix("Use tensors directly and remove the import", "safe", (*fix.edits, *call_edits))
            self.report(alias, fix=fix)

    def _call_fix(self, call: cst.Call) -> PendingFix | None:
        positional = [a for a in call.args if a.keyword is None and not a.star]
        keywords = {a.keyword.value: a for a in call.args if a.keyword is not None}
        if len(positional) != 1 or set(keywords) - {"requires_grad"}:
            return None
        data = positional[0].value
        module = self.context.module
        code = module.code_for_node(data)
        if not isinstance(data, (cst.Name, cst.Attribute, cst.Call, cst.Subscript)):
            code = f"({code})"
        flag = keywords.get("requires_grad")
        if flag is not None and is_true(flag.value):
            if (
                isinstance(data, cst.Call)
                and self.context.imports.qualified(data.func) in TENSOR_FACTORIES
                and keyword(data, "requires_grad") is None
                and data.args
            ):
                last = data.args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
                grown = data.with_changes(
                    args=[*data.args[:-1], last, keyword_argument("requires_grad", cst.Name("True"))]
                )
                replacement = module.code_for_node(grown)
            else:
                replacement = f"{code}.detach().requires_grad_()"
        elif flag is not None and not (isinstance(flag.value, cst.Name) and flag.value.value == "False"):
            return None
        elif self._is_fresh(data):
            replacement = code
        else:
            # `Variable(t)` is a new tensor that does not require grad: the graph is cut there, and
            # `requires_grad_()` on it leaves `t` alone. `t.detach()` is the same; `t` itself is not.
            replacement = f"{code}.detach()"
        return PendingFix("Use the tensor itself", "safe", (Replace(call, replacement),))

    def _is_fresh(self, data: cst.BaseExpression) -> bool:
        """A tensor made right here that requires no grad and that nothing else holds (a factory or
        legacy constructor call, moved or cast): ``Variable`` of it is the tensor itself."""
        while isinstance(data, cst.Call) and isinstance(data.func, cst.Attribute) and data.func.attr.value in _MOVES:
            data = data.func.value
        if not isinstance(data, cst.Call):
            return False
        qualified = self.context.imports.qualified(data.func) or ""
        made = qualified in TENSOR_FACTORIES or qualified.rpartition(".")[2].endswith("Tensor")
        return made and keyword(data, "requires_grad") is None


# Methods that return a tensor on another device or with another dtype (a copy, or the same tensor).
_MOVES = frozenset({"type", "to", "cuda", "cpu", "float", "double", "half", "long", "int"})


def _is_variable(qualified: str) -> bool:
    return qualified == "torch.autograd.Variable" or qualified in (
        "torch.autograd.variable.Variable",
        "torch.Variable",
    )


def _remove_alias_fix(statement, node: cst.ImportFrom, alias: cst.ImportAlias) -> PendingFix | None:
    names = [a for a in node.names if a is not alias] if not isinstance(node.names, cst.ImportStar) else []
    if not names:
        if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1:
            return PendingFix("Remove the unused import", "safe", (RemoveStatement(statement),))
        return None
    names[-1] = names[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    code = cst.Module(body=[]).code_for_node(node.with_changes(names=names))
    return PendingFix("Remove the unused import", "safe", (Replace(node, code),))
