"""Is a name a tensor? Evidence from the file, strict enough that an ``nn.Module`` (whose
``.to()``/``.cuda()``/``.float()`` work in place) is never taken for one."""

from __future__ import annotations

import libcst as cst

from ..context import FileContext
from ..syntax import dotted_name, terminal_name, walk

# Methods that return a new tensor (never change the receiver). On an nn.Module the first
# group exists too and works in place, so those need the stronger evidence.
MODULE_ALSO = frozenset({"to", "cuda", "cpu", "float", "double", "half", "bfloat16", "type"})
TENSOR_ONLY = frozenset(
    "detach clamp clip contiguous clone view reshape squeeze unsqueeze permute transpose flatten "
    "abs neg exp log sqrt sigmoid tanh relu softmax log_softmax long int bool byte masked_fill "
    "expand repeat type_as view_as pin_memory".split()
)
OUT_OF_PLACE = MODULE_ALSO | TENSOR_ONLY
# torch namespaces whose functions return tensors (not modules, optimizers, devices, files).
_TENSOR_NAMESPACES = ("torch.nn.functional.", "torch.fft.", "torch.linalg.", "torch.special.")
_NOT_TENSORS = frozenset({"torch.load", "torch.device", "torch.compile", "torch.jit", "torch.hub"})
# Functions that, by their name, build models or objects rather than compute tensors.
_MAKERS_OF_OBJECTS = ("from_", "build", "create", "get_model", "load_model", "make_model")
_ANNOTATIONS = frozenset({"torch.Tensor", "torch.FloatTensor", "torch.LongTensor", "torch.nn.Parameter"})


class TensorEvidence:
    """Answers "is this expression a tensor?" for one file, from what its code assigns."""

    def __init__(self, context: FileContext) -> None:
        self.context = context
        self._bindings: dict[cst.CSTNode, dict[str, list[cst.BaseExpression]]] = {}

    def is_tensor(self, expression: cst.BaseExpression, at: cst.CSTNode, depth: int = 0) -> bool:
        """True only with positive evidence and no sign that the name ever holds something else."""
        if depth > 3:
            return False
        if isinstance(expression, cst.Attribute) and expression.attr.value in ("grad", "data", "weight", "bias"):
            return True
        if isinstance(expression, cst.Call):
            return self._makes_tensor(expression, at, depth)
        text = dotted_name(expression)
        if text is None:
            return False
        values = self._bound(at, text)
        if any(self._makes_non_tensor(value) for value in values):
            return False
        facts = self.context.facts
        if text in facts.tensor_names or text in facts.grad_aliases or text in facts.requires_grad_names:
            return True
        if text in facts.backward_targets and not facts.own_autograd:
            return True
        if self._annotated_tensor(text, at):
            return True
        return bool(values) and any(self._makes_tensor(v, at, depth) for v in values if isinstance(v, cst.Call))

    def _makes_tensor(self, call: cst.Call, at: cst.CSTNode, depth: int) -> bool:
        qualified = self.context.imports.qualified(call.func)
        if qualified is not None:
            if qualified in _NOT_TENSORS or any(qualified.startswith(n + ".") for n in _NOT_TENSORS):
                return False
            if qualified.startswith(_TENSOR_NAMESPACES):
                return True
            parts = qualified.split(".")
            return len(parts) == 2 and parts[1][:1].islower()  # torch.randn, torch.cat, torch.where
        func = call.func
        if isinstance(func, cst.Attribute) and func.attr.value in OUT_OF_PLACE:
            return self.is_tensor(func.value, at, depth + 1)
        return False

    def _makes_non_tensor(self, value: cst.BaseExpression) -> bool:
        """A module, a model or an object of a class: ``nn.Linear(...)``, ``Net()``, ``X.from_pretrained()``."""
        if not isinstance(value, cst.Call):
            return False
        qualified = self.context.imports.qualified(value.func)
        if qualified is not None:
            return qualified.startswith(("torch.nn.", "torch.optim.", "torch.utils.")) and not qualified.startswith(
                ("torch.nn.functional.", "torch.nn.Parameter", "torch.nn.init.")
            )
        name = terminal_name(value.func) or ""
        if isinstance(value.func, cst.Attribute) and isinstance(value.func.value, cst.Call):
            return self._makes_non_tensor(value.func.value)
        return name[:1].isupper() or name.startswith(_MAKERS_OF_OBJECTS)

    def _annotated_tensor(self, text: str, at: cst.CSTNode) -> bool:
        function = self.context.tree.enclosing_function(at)
        if function is None or "." in text:
            return False
        for param in (*function.params.params, *function.params.kwonly_params, *function.params.posonly_params):
            if param.name.value == text and param.annotation is not None:
                return self.context.imports.qualified(param.annotation.annotation) in _ANNOTATIONS
        return False

    def _bound(self, at: cst.CSTNode, text: str) -> list[cst.BaseExpression]:
        """Every value the scope around ``at`` assigns to ``text`` (``self.x``: the whole class)."""
        scope = self._scope(at, text)
        table = self._bindings.get(scope)
        if table is None:
            table = self._bindings[scope] = _assignments(scope, into_functions=isinstance(scope, cst.ClassDef))
        return table.get(text, [])

    def _scope(self, at: cst.CSTNode, text: str) -> cst.CSTNode:
        if text.startswith("self."):
            for ancestor in self.context.tree.ancestors(at):
                if isinstance(ancestor, cst.ClassDef):
                    return ancestor
        return self.context.tree.scope_of(at)


def _assignments(scope: cst.CSTNode, into_functions: bool) -> dict[str, list[cst.BaseExpression]]:
    table: dict[str, list[cst.BaseExpression]] = {}
    body = scope.body if isinstance(scope, (cst.FunctionDef, cst.ClassDef)) else scope
    for node in walk(body, into_functions=into_functions):
        if isinstance(node, cst.Assign):
            for target in node.targets:
                _bind(table, target.target, node.value)
        elif isinstance(node, (cst.AnnAssign, cst.AugAssign)) and node.value is not None:
            _bind(table, node.target, node.value)
        elif isinstance(node, cst.For):
            _bind(table, node.target, cst.Name("_unknown"))
        elif isinstance(node, cst.WithItem) and node.asname is not None:
            _bind(table, node.asname.name, cst.Name("_unknown"))
    return table


def _bind(table: dict[str, list[cst.BaseExpression]], target: cst.BaseExpression, value: cst.BaseExpression) -> None:
    if isinstance(target, (cst.Tuple, cst.List)):
        values = value.elements if isinstance(value, (cst.Tuple, cst.List)) else None
        for index, element in enumerate(target.elements):
            if values is not None and len(values) == len(target.elements):
                _bind(table, element.value, values[index].value)
            else:
                _bind(table, element.value, cst.Name("_unknown"))
        return
    text = dotted_name(target)
    if text is not None:
        table.setdefault(text, []).append(value)
