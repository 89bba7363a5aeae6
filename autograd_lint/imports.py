"""Which local names are torch: an import table, far cheaper than libcst's scope analysis."""

from __future__ import annotations

import libcst as cst

from .syntax import dotted_name, walk

# Spellings that name the same object, folded into one canonical name.
CANONICAL = {
    "torch.autograd.variable.Variable": "torch.autograd.Variable",
    "torch.Variable": "torch.autograd.Variable",
    "torch.autograd.grad_mode.no_grad": "torch.no_grad",
    "torch.autograd.no_grad": "torch.no_grad",
    "torch.autograd.grad_mode.inference_mode": "torch.inference_mode",
    "torch.autograd.inference_mode": "torch.inference_mode",
    "torch.autograd.grad_mode.set_grad_enabled": "torch.set_grad_enabled",
    "torch.autograd.set_grad_enabled": "torch.set_grad_enabled",
    "torch.nn.parameter.Parameter": "torch.nn.Parameter",
    "torch.autograd.backward": "torch.autograd.backward",
}


# What `from MODULE import *` binds, for the torch names the rules ask about: the module's own
# `__all__` (torch 2.x), kept small and explicit so that a star import never claims a local name
# the module does not export.
_LEGACY_TYPES = tuple(f"{kind}Tensor" for kind in ("Float", "Double", "Byte", "Char", "Short", "Int", "Long", "Bool"))
STAR_EXPORTS: dict[str, tuple[str, ...]] = {
    "torch": (
        *_LEGACY_TYPES,
        *"Tensor no_grad enable_grad inference_mode tensor zeros ones randn rand empty full arange from_numpy".split(),
    ),
    "torch.autograd": ("Variable", "Function", "grad", "backward", "no_grad", "enable_grad", "set_grad_enabled"),
    "torch.autograd.variable": ("Variable",),
    "torch.nn.parameter": ("Parameter",),
}


class ImportTable:
    """Local name -> qualified name, for names bound by importing torch (or its parts)."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        # Names bound by importing anything else (`from micrograd.engine import Value`, `typing.cast`).
        self.other_names: dict[str, str] = {}
        # The file's own wrappers of a torch API: `Variable = lambda *a, **k: autograd.Variable(*a, **k)`.
        self.wrappers: dict[str, str] = {}

    @property
    def imports_torch(self) -> bool:
        return bool(self.names)

    def add(self, node: cst.Import | cst.ImportFrom) -> None:
        if isinstance(node, cst.Import):
            for alias in node.names:
                dotted = dotted_name(alias.name)
                if dotted is None:
                    continue
                if not _is_torch(dotted):
                    asname = alias.asname.name if alias.asname is not None else None
                    local = asname.value if isinstance(asname, cst.Name) else dotted.split(".")[0]
                    self.other_names[local] = dotted if isinstance(asname, cst.Name) else local
                    continue
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                    self.names[alias.asname.name.value] = dotted
                else:
                    # `import torch.nn` binds `torch`.
                    self.names[dotted.split(".")[0]] = dotted.split(".")[0]
        else:
            if node.relative or node.module is None:
                return
            module = dotted_name(node.module)
            if module is None:
                return
            if not _is_torch(module):
                if not isinstance(node.names, cst.ImportStar):
                    for alias in node.names:
                        if isinstance(alias.name, cst.Name):
                            asname = alias.asname.name if alias.asname is not None else None
                            local = asname.value if isinstance(asname, cst.Name) else alias.name.value
                            self.other_names[local] = f"{module}.{alias.name.value}"
                return
            if isinstance(node.names, cst.ImportStar):
                self.names.setdefault("*" + module, module)
                for exported in STAR_EXPORTS.get(module, ()):
                    # An explicit import of the same name, earlier or later, wins.
                    self.names.setdefault(exported, f"{module}.{exported}")
                return
            for alias in node.names:
                if not isinstance(alias.name, cst.Name):
                    continue
                local = alias.name.value
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                    local = alias.asname.name.value
                self.names[local] = f"{module}.{alias.name.value}"

    def other_qualified(self, expression: cst.BaseExpression) -> str | None:
        """``typing.cast`` for ``cast`` after ``from typing import cast``: names from other modules."""
        name = dotted_name(expression)
        if name is None:
            return None
        head, _, rest = name.partition(".")
        base = self.other_names.get(head)
        if base is None:
            return None
        return f"{base}.{rest}" if rest else base

    def wrapped(self, expression: cst.BaseExpression) -> str | None:
        """The torch API a file's own wrapper forwards to, for a call of that wrapper."""
        return self.wrappers.get(expression.value) if isinstance(expression, cst.Name) else None

    def add_wrapper(self, statement: cst.CSTNode) -> None:
        """Record a module-level wrapper that forwards ``*args, **kwargs`` to one torch API:
        ``V = lambda *a, **k: autograd.Variable(*a, **k).cuda()`` or a small ``def`` doing the same."""
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.value, cst.Lambda):
                    target = small.targets[0].target
                    if isinstance(target, cst.Name):
                        self._wrapper(target.value, small.value.params, small.value.body)
        elif isinstance(statement, cst.FunctionDef) and len(getattr(statement.body, "body", ())) <= 4:
            self._wrapper(statement.name.value, statement.params, statement.body)
        elif isinstance(statement, cst.If):
            blocks: list[cst.BaseSuite] = [statement.body]
            if isinstance(statement.orelse, cst.Else):
                blocks.append(statement.orelse.body)
            elif isinstance(statement.orelse, cst.If):
                self.add_wrapper(statement.orelse)
            for block in blocks:
                for line in getattr(block, "body", ()):
                    self.add_wrapper(line)

    def _wrapper(self, name: str, params: cst.Parameters, body: cst.CSTNode) -> None:
        star = params.star_arg.name.value if isinstance(params.star_arg, cst.Param) else None
        double = params.star_kwarg.name.value if params.star_kwarg is not None else None
        if star is None or double is None:
            return
        for node in walk(body):
            if not isinstance(node, cst.Call):
                continue
            forwarded = {(a.star, a.value.value) for a in node.args if a.star and isinstance(a.value, cst.Name)}
            if {("*", star), ("**", double)} <= forwarded:
                qualified = self.qualified(node.func)
                if qualified is not None and _is_torch(qualified) and name != dotted_name(node.func):
                    self.wrappers[name] = qualified
                    return

    def torch_alias(self) -> str | None:
        """The local name bound to the ``torch`` module itself, if any (for inserted code)."""
        return self.local_name("torch")

    def local_name(self, qualified: str) -> str | None:
        """The name this file binds to exactly ``qualified`` (``t`` for ``torch`` after
        ``import torch as t``), for fixes that must spell a torch name; else ``None``."""
        if self.names.get(qualified) == qualified:
            return qualified
        for local, bound in self.names.items():
            if bound == qualified and not local.startswith("*"):
                return local
        return None

    def qualified(self, expression: cst.BaseExpression) -> str | None:
        """``torch.autograd.Variable`` for ``ag.Variable`` after ``import torch.autograd as ag``."""
        parts: list[str] = []
        while isinstance(expression, cst.Attribute):
            parts.append(expression.attr.value)
            expression = expression.value
        if not isinstance(expression, cst.Name):
            return None
        base = self.names.get(expression.value)
        if base is None:
            return None
        parts.append(base)
        name = ".".join(reversed(parts))
        return CANONICAL.get(name, name)


def _is_torch(module: str) -> bool:
    return module == "torch" or module.startswith("torch.")
