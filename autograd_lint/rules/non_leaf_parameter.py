from __future__ import annotations

from typing import ClassVar

import libcst as cst

from ..fixes import PendingFix, Replace
from ..rule import Invalid, Rule
from ..syntax import is_true, keyword, names_in

# Methods that return a copy on another device or with another dtype: a new, non-leaf tensor.
_CASTS = frozenset({"to", "cuda", "cpu", "double", "float", "half", "bfloat16", "type"})
# Tensor methods that make a tensor and accept `requires_grad=`.
_NEW_METHODS = frozenset({"new_tensor", "new_zeros", "new_ones", "new_empty", "new_full"})

_DIFFERENTIATE = frozenset(
    {
        "torch.autograd.grad",
        "torch.autograd.gradcheck",
        "torch.autograd.gradgradcheck",
        "torch.autograd.functional.jacobian",
    }
)

_CHAIN_MESSAGE = (
    "`.{cast}()` copies a tensor that was just made to require grad, so the result is not a leaf "
    "and its `.grad` stays `None`; cast first (or pass `device=`/`dtype=`), then `.requires_grad_()`"
)


class NonLeafParameter(Rule):
    """
    ## What it does
    Flags a tensor made to require grad and then moved or cast, so that the name
    holds a non-leaf whose `.grad` stays `None`.

    Requiring grad is `requires_grad=True`, `nn.Parameter(...)`,
    `Variable(..., requires_grad=True)` or `.requires_grad_()`; the move or cast
    (`.to(device)`, `.cuda()`, `.cpu()`, `.double()`, `.float()`, `.half()`,
    `.type(...)`) comes later in the same expression, or in a rebinding later in the
    same scope (`w = w.cuda()`).

    ## Why is this bad?
    A move or cast that changes anything returns a *new* tensor computed from the
    leaf. The name then holds a non-leaf: `backward()` fills the `.grad` of the
    discarded original, the optimizer was given (or will be given) a tensor whose
    `.grad` stays `None`, and `nn.Parameter(...).cuda()` assigned to a module is no
    longer a registered parameter. Nothing raises; the weights just never change.

    ## Example
    ```python
    w = torch.randn(10, 1, requires_grad=True).to(device)
    self.scale = nn.Parameter(torch.ones(1)).cuda()
    ```

    ## Use instead
    ```python
    w = torch.randn(10, 1, device=device, requires_grad=True)
    self.scale = nn.Parameter(torch.ones(1).cuda())
    ```

    ## Known false positives
    A cast that changes nothing returns the leaf itself and is not reported when the
    expression shows it: `.float()` of a tensor made float32, `.to(device)` of one made
    with `device=device` or already moved there, `.cpu()` of a factory's tensor (unless
    the file changes torch's default dtype or device). A cast the expression cannot see
    through (`.to(device)` of an unknown tensor) is reported. A tensor
    whose `.grad` is never read (only an input to `torch.autograd.grad` or
    `gradcheck`) does not need to be a leaf; such names are not reported when the
    same scope passes them to `torch.autograd.grad` or `gradcheck`.

    ## Fix safety
    Unsafe, for a single expression chain: the casts move before the point where
    the tensor starts to require grad (`torch.randn(3, requires_grad=True).cuda()`
    becomes `torch.randn(3).cuda().requires_grad_()`, `nn.Parameter(t).cuda()`
    becomes `nn.Parameter(t.cuda())`), so the name holds a leaf whose `.grad` fills.
    """

    code: ClassVar[str] = "AGL007"
    name: ClassVar[str] = "non-leaf-parameter"
    message: ClassVar[str] = _CHAIN_MESSAGE
    fix_safety = frozenset({"unsafe"})
    triggers = ("requires_grad", "Parameter")

    VALID = (
        """
        import torch
        d = torch.device('cuda')
        w = torch.zeros(3).to(d).requires_grad_()
        b = torch.zeros(3, device=d, requires_grad=True)
        """,
        """
        import torch
        import torch.nn as nn
        x = torch.randn(3)
        p = nn.Parameter(x.to('cuda'))
        model = nn.Linear(3, 1).to('cuda')
        y = x.to('cuda')
        """,
        # A fresh leaf made from the copy, and a frozen tensor, are fine.
        """
        import torch
        w = torch.randn(3, requires_grad=True)
        w = w.cuda().detach().requires_grad_()
        f = torch.ones(2).requires_grad_(False).cuda()
        kind = torch.ones(2, requires_grad=True).type()
        """,
        """
        import torch

        def make(device):
            w = torch.randn(3, requires_grad=True)
            return w

        def move(w, device):
            w = w.to(device)
            return w
        """,
        # A gradient penalty differentiates with respect to the copy: no `.grad` is read.
        """
        import torch
        from torch.autograd import Variable, grad

        def penalty(netD, real, fake):
            x = Variable(0.5 * real + 0.5 * fake, requires_grad=True)
            x = x.cuda()
            y = torch.rand(3, requires_grad=True).cuda()
            return grad(netD(x).sum() + y.sum(), [x, y], create_graph=True)[0]
        """,
        """
        import torch
        import torch.nn as nn
        class M(nn.Module):
            def __init__(self, d, device):
                super().__init__()
                self.scale = nn.Parameter(torch.ones(d)).float()
                self.bias = nn.Parameter(torch.zeros(d, device=device)).to(device)
                self.w = nn.Parameter(torch.zeros(d).to(device)).to(device)
        w = torch.randn(3, requires_grad=True).cpu()
        v = torch.randn(3, dtype=torch.float64, requires_grad=True).double()
        """,
    )
    INVALID = (
        Invalid(
            """
            import torch
            w = torch.randn(3, requires_grad=True).cuda()
            b = torch.zeros(1, dtype=torch.float64, requires_grad=True).to(device).float()
            """,
            lines=(2, 3),
            fixed="""
            import torch
            w = torch.randn(3).cuda().requires_grad_()
            b = torch.zeros(1, dtype=torch.float64).to(device).float().requires_grad_()
            """,
            unsafe=True,
        ),
        Invalid(
            """
            import torch
            import torch.nn as nn

            class Scale(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.scale = nn.Parameter(torch.ones(1)).cuda()
                    self.shift = nn.Parameter(torch.zeros(1) + 1).double()
            """,
            lines=(7, 8),
            fixed="""
            import torch
            import torch.nn as nn

            class Scale(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.scale = nn.Parameter(torch.ones(1).cuda())
                    self.shift = nn.Parameter((torch.zeros(1) + 1).double())
            """,
            unsafe=True,
        ),
        Invalid(
            """
            import torch
            from torch.autograd import Variable
            x = torch.ones(2).requires_grad_().half()
            v = Variable(torch.ones(2), requires_grad=True).cuda()
            """,
            lines=(3, 4),
            fixed="""
            import torch
            from torch.autograd import Variable
            x = torch.ones(2).half().requires_grad_()
            v = Variable(torch.ones(2)).cuda().requires_grad_()
            """,
            unsafe=True,
        ),
        Invalid(
            # Rebound after the fact: reported where the leaf is lost, without a fix.
            """
            import torch

            def train(device):
                w = torch.randn(3, requires_grad=True)
                opt = torch.optim.SGD([w], lr=0.1)
                if device == 'cuda':
                    w = w.cuda()
                b, c = torch.zeros(1, requires_grad=True), torch.ones(1)
                b, c = b.to(device), c.to(device)
            """,
            lines=(7, 9),
        ),
        Invalid(
            """
            import torch
            import torch.nn as nn
            class M(nn.Module):
                def __init__(self, d):
                    super().__init__()
                    self.gain = nn.Parameter(torch.ones(d)).cuda()
                    self.shift = nn.Parameter(torch.ones(d).double()).float()
            """,
            lines=(6, 7),
            fixed="""
            import torch
            import torch.nn as nn
            class M(nn.Module):
                def __init__(self, d):
                    super().__init__()
                    self.gain = nn.Parameter(torch.ones(d).cuda())
                    self.shift = nn.Parameter(torch.ones(d).double().float())
            """,
            unsafe=True,
        ),
    )

    def __init__(self, context) -> None:
        super().__init__(context)
        # (scope, name) of names that hold a fresh leaf requiring grad.
        self.leaves: set[tuple[cst.CSTNode, str]] = set()
        # Names differentiated with `torch.autograd.grad`/`gradcheck` per scope: they need no `.grad`.
        self.differentiated: set[tuple[cst.CSTNode, str]] = set()
        self.pending: list[tuple[cst.CSTNode, tuple[cst.CSTNode, str] | None, str, PendingFix | None]] = []

    def visit_Call(self, node: cst.Call) -> None:
        qualified = self.context.imports.qualified(node.func)
        if qualified in _DIFFERENTIATE:
            scope = self._scope(node)
            for arg in node.args:
                self.differentiated.update((scope, name) for name in names_in(arg.value))
            return
        kind = self._leaf_kind(node, qualified)
        if kind is None:
            return
        casts: list[cst.Call] = []
        current: cst.CSTNode = node
        while True:
            attribute = self.context.tree.parent(current)
            call = self.context.tree.parent(attribute) if attribute is not None else None
            if not (
                isinstance(attribute, cst.Attribute)
                and attribute.value is current
                and isinstance(call, cst.Call)
                and call.func is attribute
            ):
                break
            if attribute.attr.value == "detach":
                return  # a fresh leaf is made from the copy
            if attribute.attr.value not in _CASTS or (attribute.attr.value == "type" and not call.args):
                break
            casts.append(call)
            current = call
        if casts and not self._all_no_ops(node, casts):
            cast = cst.ensure_type(casts[0].func, cst.Attribute).attr.value
            message = _CHAIN_MESSAGE.format(cast=cast)
            self.pending.append((casts[-1], self._bound_name(casts[-1]), message, self._fix(node, kind, casts)))

    def _all_no_ops(self, leaf: cst.Call, casts: list[cst.Call]) -> bool:
        """Does every cast return the leaf itself, as ``.float()`` of a float32 tensor or ``.to(d)``
        of one already on ``d`` does? Only when the file leaves torch's defaults alone."""
        if any(
            word in self.context.source for word in ("set_default_dtype", "set_default_device", "set_default_tensor")
        ):
            return False
        code = self.context.module.code_for_node
        dtype, device = _made_as(self.context, leaf)
        for cast in casts:
            method = cast.func.attr.value  # type: ignore[attr-defined]
            if method in _DTYPE_METHODS:
                if dtype != _DTYPE_METHODS[method]:
                    return False
            elif method in ("cuda", "cpu"):
                if cast.args or device != method:
                    return False
            elif method == "to" and len(cast.args) == 1 and cast.args[0].keyword is None:
                wanted = _device_code(code(cast.args[0].value))
                if wanted in _DTYPE_NAMES:
                    if dtype != _DTYPE_NAMES[wanted]:
                        return False
                elif device is None or wanted != device:
                    return False
            else:
                return False
        return True

    def finish(self) -> None:
        for node, bound, message, fix in self.pending:
            if bound is None or bound not in self.differentiated:
                self.report(node, message, fix)

    def _scope(self, node: cst.CSTNode) -> cst.CSTNode:
        return next(
            (
                a
                for a in self.context.tree.ancestors(node)
                if isinstance(a, (cst.FunctionDef, cst.ClassDef, cst.Lambda))
            ),
            self.context.module,
        )

    def _bound_name(self, value: cst.CSTNode) -> tuple[cst.CSTNode, str] | None:
        """``(scope, name)`` when ``value`` is what ``name = value`` assigns."""
        assign = self.context.tree.parent(value)
        if isinstance(assign, cst.Assign) and assign.value is value and len(assign.targets) == 1:
            target = assign.targets[0].target
            if isinstance(target, cst.Name):
                return self._scope(assign), target.value
        return None

    def visit_Assign(self, node: cst.Assign) -> None:
        if len(node.targets) != 1:
            return
        target = node.targets[0].target
        scope = self._scope(node)
        if isinstance(target, cst.Name):
            self._bind(scope, target.value, node.value)
        elif isinstance(target, cst.Tuple) and isinstance(node.value, cst.Tuple):
            names, values = target.elements, node.value.elements
            if len(names) == len(values):
                for name, value in zip(names, values, strict=False):
                    if isinstance(name.value, cst.Name) and not isinstance(name, cst.StarredElement):
                        self._bind(scope, name.value.value, value.value)

    def _bind(self, scope: cst.CSTNode, name: str, value: cst.BaseExpression) -> None:
        key = (scope, name)
        if isinstance(value, cst.Call) and self._leaf_kind(value) is not None:
            self.leaves.add(key)
            return
        if key in self.leaves:
            self.leaves.discard(key)
            cast = _cast_of_name(value, name)
            if cast is not None:
                message = (
                    f"`{name}` is rebound to a `.{cast}()` copy of the leaf it held; the copy is not a leaf, "
                    f"so `{name}.grad` stays `None`: create it with `device=`/`dtype=`, or cast before "
                    "`.requires_grad_()`"
                )
                self.pending.append((value, key, message, None))

    # --- what makes a leaf that requires grad ---

    def _leaf_kind(self, call: cst.Call, qualified: str | None = None) -> str | None:
        func = call.func
        if qualified is None:
            qualified = self.context.imports.qualified(func)
        flag = keyword(call, "requires_grad")
        if qualified == "torch.nn.Parameter":
            off = flag is not None and isinstance(flag.value, cst.Name) and flag.value.value == "False"
            return None if off else "parameter"
        if flag is not None and is_true(flag.value):
            if qualified is not None and qualified.startswith("torch."):
                return "keyword"
            if qualified is None and isinstance(func, cst.Attribute) and func.attr.value in _NEW_METHODS:
                return "keyword"
            return None
        if qualified is None and isinstance(func, cst.Attribute) and func.attr.value == "requires_grad_":
            first = call.args[0].value if call.args else None
            if first is None or is_true(first):
                return "method"
        return None

    # --- the fix: cast first, then require grad ---

    def _fix(self, leaf: cst.Call, kind: str, casts: list[cst.Call]) -> PendingFix | None:
        def recast(base: cst.BaseExpression) -> cst.BaseExpression:
            for cast in casts:
                base = cast.with_changes(func=cast.func.with_changes(value=base), lpar=[], rpar=[])
            return base

        if kind == "keyword":
            flag = keyword(leaf, "requires_grad")
            args = [arg for arg in leaf.args if arg is not flag]
            if args and leaf.args[-1] is flag:
                args[-1] = args[-1].with_changes(comma=flag.comma)
            moved = recast(leaf.with_changes(args=args))
            result: cst.BaseExpression = cst.Call(func=cst.Attribute(value=moved, attr=cst.Name("requires_grad_")))
        elif kind == "method":
            func = cst.ensure_type(leaf.func, cst.Attribute)
            result = leaf.with_changes(func=func.with_changes(value=recast(func.value)), lpar=[], rpar=[])
        else:
            positional = [arg for arg in leaf.args if arg.keyword is None]
            data = positional[0] if len(positional) == 1 and not positional[0].star else keyword(leaf, "data")
            if data is None or (positional and data is not positional[0]):
                return None
            value = data.value
            if not isinstance(value, (cst.Name, cst.Attribute, cst.Call, cst.Subscript)) and not value.lpar:
                value = value.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
            new_data = data.with_changes(value=recast(value))
            args = [new_data if arg is data else arg for arg in leaf.args]
            result = leaf.with_changes(args=args, lpar=[], rpar=[])
        code = self.context.module.code_for_node(result)
        return PendingFix("Cast before making the tensor require grad", "unsafe", (Replace(casts[-1], code),))


_DTYPE_METHODS = {"float": "float32", "double": "float64", "half": "float16", "bfloat16": "bfloat16"}
_DTYPE_NAMES = {
    f"torch.{name}": dtype
    for name, dtype in {
        "float": "float32",
        "float32": "float32",
        "double": "float64",
        "float64": "float64",
        "half": "float16",
        "float16": "float16",
        "bfloat16": "bfloat16",
    }.items()
}
# Factories whose result is of the default float dtype unless told otherwise.
_FLOAT_FACTORIES = frozenset(
    "torch." + name for name in "randn rand zeros ones empty eye linspace logspace normal".split()
)


def _device_code(code: str) -> str:
    """``cuda`` for ``"cuda"``, ``'cuda'`` and ``torch.device("cuda")``; other code unchanged."""
    code = code.strip()
    if code.startswith("torch.device(") and code.endswith(")"):
        code = code[len("torch.device(") : -1].strip()
    return code.strip("'\"") if code[:1] in "'\"" else code


def _made_as(context, tensor: cst.BaseExpression) -> tuple[str | None, str | None]:
    """The dtype and the device (as code: ``cpu``, ``cuda`` or a name) a tensor is made with,
    where the expression shows them; ``None`` where it does not."""
    code = context.module.code_for_node
    if not isinstance(tensor, cst.Call):
        return None, None
    func = tensor.func
    qualified = context.imports.qualified(func)
    if qualified == "torch.nn.Parameter":
        data = tensor.args[0].value if tensor.args and tensor.args[0].keyword is None else None
        return _made_as(context, data) if data is not None else ("float32", "cpu")
    if qualified in _FLOAT_FACTORIES:
        dtype_arg, device_arg = keyword(tensor, "dtype"), keyword(tensor, "device")
        made_dtype = _DTYPE_NAMES.get(code(dtype_arg.value)) if dtype_arg is not None else "float32"
        made_device = _device_code(code(device_arg.value)) if device_arg is not None else "cpu"
        return made_dtype, made_device
    if isinstance(func, cst.Attribute) and qualified is None:
        dtype, device = _made_as(context, func.value)
        method = func.attr.value
        if method == "requires_grad_":
            return dtype, device
        if method in _DTYPE_METHODS and not tensor.args:
            return _DTYPE_METHODS[method], device
        if method in ("cuda", "cpu") and not tensor.args:
            return dtype, method
        if method == "to" and len(tensor.args) == 1 and tensor.args[0].keyword is None:
            wanted = _device_code(code(tensor.args[0].value))
            return (_DTYPE_NAMES[wanted], device) if wanted in _DTYPE_NAMES else (dtype, wanted)
    return None, None


def _cast_of_name(value: cst.BaseExpression, name: str) -> str | None:
    """``w.cuda()`` / ``w.to(d).float()`` for ``name`` ``w``: the first cast, else ``None``."""
    casts: list[str] = []
    while isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute):
        method = value.func.attr.value
        if method not in _CASTS or (method == "type" and not value.args):
            return None
        casts.append(method)
        value = value.func.value
    if isinstance(value, cst.Name) and value.value == name and casts:
        return casts[-1]
    return None
