"""Which local names are torch: an import table, far cheaper than libcst's scope analysis."""

from __future__ import annotations

import libcst as cst

from .syntax import dotted_name

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


class ImportTable:
    """Local name -> qualified name, for names bound by importing torch (or its parts)."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}

    @property
    def imports_torch(self) -> bool:
        return bool(self.names)

    def add(self, node: cst.Import | cst.ImportFrom) -> None:
        if isinstance(node, cst.Import):
            for alias in node.names:
                dotted = dotted_name(alias.name)
                if dotted is None or not _is_torch(dotted):
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
            if module is None or not _is_torch(module):
                return
            if isinstance(node.names, cst.ImportStar):
                self.names.setdefault("*" + module, module)
                return
            for alias in node.names:
                if not isinstance(alias.name, cst.Name):
                    continue
                local = alias.name.value
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                    local = alias.asname.name.value
                self.names[local] = f"{module}.{alias.name.value}"

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
