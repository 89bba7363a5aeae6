from __future__ import annotations

from typing import ClassVar

import libcst as cst

from ..context import FileContext
from ..fixes import PendingFix, Replace
from ..rule import Invalid, Rule
from ..syntax import dotted_name, keyword, method_call, walk, without_argument
from ._modules import ModuleClasses, nn_spelling

_CONTAINER_MESSAGE = (
    "`{attribute}` is a plain {kind}, so the modules in it are not registered: `.parameters()` (and so "
    "the optimizer), `.to()`, `.eval()` and `state_dict` never see them; use `{wrapper}`"
)
_TENSOR_MESSAGE = (
    "`{attribute}` is a tensor that requires grad but not an `nn.Parameter`, so `.parameters()` (and so "
    "the optimizer), `.to()` and `state_dict` never see it; wrap it in `nn.Parameter(...)`"
)
_REGISTERING = frozenset({"add_module", "register_module", "register_parameter", "setattr"})


class UnregisteredParameter(Rule):
    """
    ## What it does
    Flags, in an `nn.Module`'s `__init__`, submodules kept in a plain list, tuple or
    dict attribute (`self.layers = [nn.Linear(...) for ...]`) and a tensor that
    requires grad stored as a plain attribute
    (`self.w = torch.randn(..., requires_grad=True)`).

    ## Why is this bad?
    A module registers only what is assigned to it as an `nn.Module` or an
    `nn.Parameter`. Layers inside a Python list, or a bare tensor, are invisible to
    `model.parameters()`: the optimizer built from it never updates them, while the
    loss still goes down through the rest. `model.to(device)` leaves them behind,
    `model.eval()` leaves their dropout on, and `state_dict()` does not save them.

    ## Example
    ```python
    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = [nn.Linear(64, 64) for _ in range(4)]
            self.scale = torch.ones(1, requires_grad=True)
    ```

    ## Use instead
    ```python
    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList([nn.Linear(64, 64) for _ in range(4)])
            self.scale = nn.Parameter(torch.ones(1))
    ```

    ## Known false positives
    A list that is registered later (passed to `nn.Sequential(*self.layers)` or
    `nn.ModuleList`, or `add_module`/`register_parameter` in `__init__`) is not
    reported, nor is a tensor handed to an optimizer by name
    (`SGD([model.w, model.b])`, from-scratch tutorials) or a class that defines its
    own `parameters()`: those are trained, though `.to()` and `state_dict` still
    miss them. A test module that keeps a tensor out of its parameters on purpose
    (Lightning's model-summary tests build a module "with no layers" this way) is
    reported; add `# noqa: AGL018` there.

    ## Fix safety
    Unsafe: wraps a list of modules in `nn.ModuleList`, a dict with string keys in
    `nn.ModuleDict`, parameters in `nn.ParameterList`/`nn.ParameterDict`, and a
    tensor in `nn.Parameter`, spelled as the file imports `nn`. The model gains
    parameters, so training changes; not offered in a file that loads a
    `state_dict`, whose saved keys would no longer match.
    """

    code: ClassVar[str] = "AGL018"
    name: ClassVar[str] = "unregistered-parameter"
    message: ClassVar[str] = _CONTAINER_MESSAGE
    fix_safety = frozenset({"unsafe"})
    triggers = ("__init__",)

    VALID = (
        """
        import torch
        from torch import nn
        class M(nn.Module):
            def __init__(self):
                super().__init__()
                self.layers = nn.ModuleList([nn.Linear(4, 4) for _ in range(3)])
                self.w = nn.Parameter(torch.randn(4))
                self.acts = ['relu', 'tanh']
        """,
        # Registered later through nn.Sequential.
        """
        import torch
        from torch import nn
        class M(nn.Module):
            def __init__(self):
                super().__init__()
                self.blocks = [nn.Linear(4, 4), nn.ReLU()]
                self.net = nn.Sequential(*self.blocks)
        """,
        # Not an nn.Module: a plain class may keep what it likes.
        """
        import torch
        from torch import nn
        class Ensemble:
            def __init__(self):
                self.models = [nn.Linear(4, 1) for _ in range(5)]
                self.w = torch.zeros(4, requires_grad=True)
        """,
        # From scratch: the tensors are handed to the optimizer by name.
        """
        import torch
        from torch import nn
        class LinearScratch(nn.Module):
            def __init__(self):
                super().__init__()
                self.w = torch.normal(0, 0.01, (2, 1), requires_grad=True)
            def configure_optimizers(self):
                return torch.optim.SGD([self.w], lr=0.1)
        """,
        # Registered by hand.
        """
        import torch
        from torch import nn
        class M(nn.Module):
            def __init__(self):
                super().__init__()
                self.experts = [nn.Linear(2, 2) for _ in range(3)]
                for i, e in enumerate(self.experts):
                    self.add_module(f'e{i}', e)
        """,
        # A buffer that does not require grad.
        """
        import torch
        from torch import nn
        class M(nn.Module):
            def __init__(self):
                super().__init__()
                self.mask = torch.ones(4)
                self.pairs = [(1, 2)]
        """,
    )
    INVALID = (
        Invalid(
            """
            import torch
            import torch.nn as nn
            class MLP(nn.Module):
                def __init__(self, depth):
                    super().__init__()
                    self.layers = [nn.Linear(64, 64) for _ in range(depth)]
                    self.scale = torch.ones(1, requires_grad=True)
            """,
            lines=(6, 7),
            fixed="""
            import torch
            import torch.nn as nn
            class MLP(nn.Module):
                def __init__(self, depth):
                    super().__init__()
                    self.layers = nn.ModuleList([nn.Linear(64, 64) for _ in range(depth)])
                    self.scale = nn.Parameter(torch.ones(1))
            """,
            unsafe=True,
        ),
        # A subclass of the file's own module; a dict of heads; `import torch` alone.
        Invalid(
            """
            import torch
            class Base(torch.nn.Module):
                pass
            class Heads(Base):
                def __init__(self):
                    super().__init__()
                    self.heads = {'cls': torch.nn.Linear(8, 2), 'box': torch.nn.Linear(8, 4)}
                    self.bias = torch.zeros(8).requires_grad_()
                def forward(self, x):
                    return self.heads['cls'](torch.add(x, self.bias))
            """,
            lines=(7, 8),
            fixed="""
            import torch
            class Base(torch.nn.Module):
                pass
            class Heads(Base):
                def __init__(self):
                    super().__init__()
                    self.heads = torch.nn.ModuleDict({'cls': torch.nn.Linear(8, 2), 'box': torch.nn.Linear(8, 4)})
                    self.bias = torch.nn.Parameter(torch.zeros(8))
                def forward(self, x):
                    return self.heads['cls'](torch.add(x, self.bias))
            """,
            unsafe=True,
        ),
        # A tuple, and a dict keyed by numbers: reported, not rewritten.
        Invalid(
            """
            import torch
            from torch import nn
            class M(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.pair = (nn.Linear(2, 2), nn.Linear(2, 2))
                    self.by_size = {1: nn.Linear(1, 1)}
            """,
            lines=(6, 7),
        ),
    )

    def __init__(self, context: FileContext) -> None:
        super().__init__(context)
        self.modules = ModuleClasses(context)

    def finish(self) -> None:
        for init in self.context.facts.functions.get("__init__", ()):
            owner = self.modules.class_of(init)
            if owner is None or owner.name.value not in self.modules.modules:
                continue
            registered = _registered_by_name(init)
            if registered is None:
                continue
            for node in walk(init.body):
                if isinstance(node, cst.Assign) and len(node.targets) == 1:
                    attribute = dotted_name(node.targets[0].target)
                    if attribute and attribute.startswith("self.") and attribute.count(".") == 1:
                        if attribute not in registered:
                            self._check(owner, attribute, node.value)

    def _check(self, owner: cst.ClassDef, attribute: str, value: cst.BaseExpression) -> None:
        container = _container_kind(value)
        if container is not None:
            items = _items(value)
            built = [
                self.modules.builds_module(i) or self.modules.builds_parameter(i)
                for i in items
                if isinstance(i, cst.Call)
            ]
            if any(built):
                self._report_container(attribute, value, container, items, all(built) and len(built) == len(items))
            return
        if isinstance(value, cst.Call) and self._requires_grad_tensor(value):
            if _defines_parameters(owner) or self._optimized_by_name(attribute):
                return
            self.report(value, _TENSOR_MESSAGE.format(attribute=attribute), self._wrap_tensor(value))

    def _report_container(
        self, attribute: str, value: cst.BaseExpression, kind: str, items: list[cst.BaseExpression], pure: bool
    ) -> None:
        parameters = all(isinstance(i, cst.Call) and self.modules.builds_parameter(i) for i in items)
        mapping = kind == "dict"
        wrapper = ("Parameter" if parameters else "Module") + ("Dict" if mapping else "List")
        spelled = nn_spelling(self.context, wrapper)
        fix = None
        can_key = not mapping or _string_keys(value)
        if pure and kind != "tuple" and can_key and spelled and "load_state_dict" not in self.context.source:
            code = f"{spelled}({self.context.tree.code(value)})"
            fix = PendingFix(f"Wrap in `{spelled}`", "unsafe", (Replace(value, code),))
        message = _CONTAINER_MESSAGE.format(attribute=attribute, kind=kind, wrapper=spelled or f"nn.{wrapper}")
        self.report(value, message, fix)

    def _requires_grad_tensor(self, call: cst.Call) -> bool:
        torch = self.context.torch
        if self.modules.builds_parameter(call):
            return False
        if method_call(call, "requires_grad_") is not None and not call.args:
            inner = call.func.value  # type: ignore[attr-defined]
            return isinstance(inner, cst.Call) and (self.context.imports.qualified(inner.func) or "").startswith(
                "torch."
            )
        return torch.makes_leaf_requiring_grad(call) and (self.context.imports.qualified(call.func) or "").startswith(
            "torch."
        )

    def _wrap_tensor(self, call: cst.Call) -> PendingFix | None:
        spelled = nn_spelling(self.context, "Parameter")
        if spelled is None or "load_state_dict" in self.context.source:
            return None
        if method_call(call, "requires_grad_") is not None:
            inner: cst.BaseExpression = call.func.value  # type: ignore[attr-defined]
        else:
            flag = keyword(call, "requires_grad")
            if flag is None or self.context.imports.qualified(call.func) == "torch.autograd.Variable":
                return None
            inner = without_argument(call, flag)
        code = f"{spelled}({self.context.tree.code(inner)})"
        return PendingFix(f"Wrap in `{spelled}`", "unsafe", (Replace(call, code),))

    def _optimized_by_name(self, attribute: str) -> bool:
        """Is ``self.w`` (or ``model.w``) passed to an optimizer somewhere in the file?"""
        field = attribute.split(".", 1)[1]
        for node in walk(self.context.module, into_functions=True):
            if isinstance(node, cst.Call) and (self.context.imports.qualified(node.func) or "").startswith(
                "torch.optim"
            ):
                if any(isinstance(n, cst.Attribute) and n.attr.value == field for n in walk(node)):
                    return True
        return False


def _container_kind(value: cst.BaseExpression) -> str | None:
    if isinstance(value, (cst.List, cst.ListComp)):
        return "list"
    if isinstance(value, cst.Tuple):
        return "tuple"
    if isinstance(value, (cst.Dict, cst.DictComp)):
        return "dict"
    return None


def _items(value: cst.BaseExpression) -> list[cst.BaseExpression]:
    if isinstance(value, (cst.List, cst.Tuple)):
        return [e.value for e in value.elements]
    if isinstance(value, cst.ListComp):
        return [value.elt]
    if isinstance(value, cst.Dict):
        return [e.value for e in value.elements]
    if isinstance(value, cst.DictComp):
        return [value.value]
    return []


def _string_keys(value: cst.BaseExpression) -> bool:
    """ModuleDict keys must be strings without dots; only literal ones are known to be."""
    if not isinstance(value, cst.Dict) or not value.elements:
        return False
    for element in value.elements:
        key = getattr(element, "key", None)
        if not isinstance(key, cst.SimpleString) or "." in key.evaluated_value or not key.evaluated_value:
            return False
    return True


def _registered_by_name(init: cst.FunctionDef) -> set[str] | None:
    """Attributes ``__init__`` registers some other way: passed to a call there
    (``nn.Sequential(*self.blocks)``); ``None`` (any of them) when it registers by hand
    (``add_module``). A call in ``forward`` (``F.conv2d(x, self.weight)``) registers nothing."""
    registered: set[str] = set()
    for node in walk(init.body):
        if isinstance(node, cst.Call):
            name = node.func.attr.value if isinstance(node.func, cst.Attribute) else getattr(node.func, "value", "")
            if name in _REGISTERING:
                registered.add("*")
            for arg in node.args:
                text = dotted_name(arg.value)
                if text:
                    registered.add(text)
    return None if "*" in registered else registered


def _defines_parameters(owner: cst.ClassDef) -> bool:
    return any(isinstance(s, cst.FunctionDef) and s.name.value == "parameters" for s in owner.body.body)
