"""The file's ``nn.Module`` classes, which calls build modules or layers with weights, and how
the file spells ``nn`` for inserted code."""

from __future__ import annotations

from functools import cached_property

import libcst as cst

from ..context import FileContext
from ..syntax import dotted_name, walk

# torch.nn layers that own trainable weights (a fresh one has fresh random weights).
WEIGHTED_LAYERS = frozenset(
    "Linear Bilinear LazyLinear Conv1d Conv2d Conv3d ConvTranspose1d ConvTranspose2d ConvTranspose3d "
    "LazyConv1d LazyConv2d LazyConv3d Embedding EmbeddingBag RNN LSTM GRU RNNCell LSTMCell GRUCell "
    "BatchNorm1d BatchNorm2d BatchNorm3d LayerNorm GroupNorm RMSNorm PReLU MultiheadAttention "
    "Transformer TransformerEncoder TransformerDecoder TransformerEncoderLayer TransformerDecoderLayer".split()
)
# torch.nn names that are not modules.
_NOT_MODULES = ("torch.nn.functional.", "torch.nn.init.", "torch.nn.utils.", "torch.nn.Parameter", "torch.nn.parameter")


class ModuleClasses:
    """The ``nn.Module`` subclasses of one file, found from the ``__init__``/``forward`` methods
    the facts walk saw and the module's top-level classes."""

    def __init__(self, context: FileContext) -> None:
        self.context = context

    @cached_property
    def classes(self) -> dict[str, cst.ClassDef]:
        found: dict[str, cst.ClassDef] = {}
        for statement in self.context.module.body:
            if isinstance(statement, cst.ClassDef):
                found[statement.name.value] = statement
        for name in ("__init__", "forward"):
            for function in self.context.facts.functions.get(name, ()):
                owner = self.class_of(function)
                if owner is not None:
                    found.setdefault(owner.name.value, owner)
        return found

    @cached_property
    def modules(self) -> frozenset[str]:
        """Names of the file's classes that derive from ``torch.nn`` (directly or through each other)."""
        modules: set[str] = set()
        changed = True
        while changed:
            changed = False
            for name, node in self.classes.items():
                if name not in modules and any(self._module_base(b.value, modules) for b in node.bases):
                    modules.add(name)
                    changed = True
        return frozenset(modules)

    @cached_property
    def weighted(self) -> frozenset[str]:
        """The file's module classes that own parameters (build a weighted layer or a Parameter)."""
        weighted: set[str] = set()
        changed = True
        while changed:
            changed = False
            for name in self.modules - weighted:
                body = self.classes[name].body
                if any(isinstance(n, cst.Call) and self.builds_weights(n, weighted) for n in walk(body, True)):
                    weighted.add(name)
                    changed = True
        return frozenset(weighted)

    def class_of(self, function: cst.FunctionDef) -> cst.ClassDef | None:
        parent = self.context.tree.parent(function)
        while parent is not None and not isinstance(parent, (cst.ClassDef, cst.FunctionDef, cst.Module)):
            parent = self.context.tree.parent(parent)
        return parent if isinstance(parent, cst.ClassDef) else None

    def is_module_method(self, function: cst.FunctionDef) -> bool:
        owner = self.class_of(function)
        return owner is not None and owner.name.value in self.modules

    def builds_module(self, call: cst.Call) -> bool:
        """``nn.Linear(...)``, ``nn.ReLU()``, ``Block(...)`` of a file's own module class."""
        qualified = self.context.imports.qualified(call.func)
        if qualified is not None:
            last = qualified.rsplit(".", 1)[-1]
            return qualified.startswith("torch.nn.") and not qualified.startswith(_NOT_MODULES) and last[:1].isupper()
        return isinstance(call.func, cst.Name) and call.func.value in self.modules

    def builds_parameter(self, call: cst.Call) -> bool:
        return self.context.imports.qualified(call.func) == "torch.nn.Parameter"

    def builds_weights(self, call: cst.Call, weighted: frozenset[str] | set[str] | None = None) -> bool:
        """A layer with weights, a Parameter, or one of the file's classes that owns either."""
        qualified = self.context.imports.qualified(call.func)
        if qualified is not None:
            return qualified == "torch.nn.Parameter" or (
                qualified.startswith("torch.nn.") and qualified.rsplit(".", 1)[-1] in WEIGHTED_LAYERS
            )
        owned = self.weighted if weighted is None else weighted
        return isinstance(call.func, cst.Name) and call.func.value in owned

    def _module_base(self, base: cst.BaseExpression, modules: set[str]) -> bool:
        qualified = self.context.imports.qualified(base)
        if qualified is not None:
            return qualified.startswith("torch.nn.") and not qualified.startswith(_NOT_MODULES)
        text = dotted_name(base) or ""
        return text in modules or text.endswith("LightningModule")


def nn_spelling(context: FileContext, name: str) -> str | None:
    """How this file writes ``torch.nn.<name>``: ``nn.ModuleList``, ``torch.nn.ModuleList``,
    or ``ModuleList`` when imported by name; ``None`` if it cannot."""
    imports = context.imports
    direct = imports.local_name(f"torch.nn.{name}")
    if direct is not None:
        return direct
    nn = imports.local_name("torch.nn")
    if nn is not None:
        return f"{nn}.{name}"
    torch = imports.torch_alias()
    return f"{torch}.nn.{name}" if torch is not None else None
