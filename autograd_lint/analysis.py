"""What every rule needs to know about torch code, computed without running it.

The import table resolves local names to torch's qualified names (``t.autograd.V``
to ``torch.autograd.Variable``); the helpers below recognise the calls that matter
to autograd: backward, optimizer steps, gradient clearing, ``no_grad`` blocks.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import libcst as cst

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

NO_GRAD_CONTEXTS = frozenset({"torch.no_grad", "torch.inference_mode"})


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


def dotted_name(node: cst.BaseExpression) -> str | None:
    """``a.b.c`` for a chain of attributes on a name, else ``None``."""
    parts: list[str] = []
    while isinstance(node, cst.Attribute):
        parts.append(node.attr.value)
        node = node.value
    if not isinstance(node, cst.Name):
        return None
    parts.append(node.value)
    return ".".join(reversed(parts))


def terminal_name(node: cst.BaseExpression) -> str | None:
    """The last identifier of ``a.b.c`` (``c``), of a name, or of a subscript's base."""
    while isinstance(node, cst.Subscript):
        node = node.value
    if isinstance(node, cst.Attribute):
        return node.attr.value
    if isinstance(node, cst.Name):
        return node.value
    return None


def method_call(node: cst.CSTNode, *names: str) -> cst.Attribute | None:
    """The ``x.name`` of a call ``x.name(...)`` whose method is one of ``names``."""
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
        if not names or node.func.attr.value in names:
            return node.func
    return None


def keyword(call: cst.Call, name: str) -> cst.Arg | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg
    return None


def without_argument(call: cst.Call, argument: cst.Arg) -> cst.Call:
    """The call with one argument dropped, keeping the others' formatting."""
    args = [a for a in call.args if a is not argument]
    if args:
        args[-1] = args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    return call.with_changes(args=args)


def keyword_argument(name: str, value: cst.BaseExpression) -> cst.Arg:
    """``name=value`` written the PEP 8 way (libcst's default puts spaces around ``=``)."""
    no_space = cst.SimpleWhitespace("")
    return cst.Arg(
        keyword=cst.Name(name),
        value=value,
        equal=cst.AssignEqual(whitespace_before=no_space, whitespace_after=no_space),
    )


def is_true(node: cst.BaseExpression | None) -> bool:
    return isinstance(node, cst.Name) and node.value == "True"


# --- walking small subtrees ---------------------------------------------------------------

_SKIPPED_FIELDS = frozenset(
    {
        "lpar",
        "rpar",
        "comma",
        "semicolon",
        "header",
        "footer",
        "leading_lines",
        "lines_after_decorators",
        "newline",
        "trailing_whitespace",
        "default_indent",
        "default_newline",
        "encoding",
        "indent",
        "operator",
        "equal",
        "colon",
        "dot",
        "star",
        "asynchronous",
    }
)
_CHILD_FIELDS: dict[type, tuple[str, ...]] = {}


def child_fields(node_type: type) -> tuple[str, ...]:
    """The fields of a node type that can hold code (not whitespace or punctuation)."""
    fields = _CHILD_FIELDS.get(node_type)
    if fields is None:
        fields = tuple(
            name
            for name in node_type.__dataclass_fields__
            if name not in _SKIPPED_FIELDS and not name.startswith("whitespace")
        )
        _CHILD_FIELDS[node_type] = fields
    return fields


_NODE_TYPES: dict[type, bool] = {}


def is_node_type(value_type: type) -> bool:
    """``issubclass(value_type, CSTNode)``, cached: the ABC check is the walk's hot spot."""
    known = _NODE_TYPES.get(value_type)
    if known is None:
        known = _NODE_TYPES[value_type] = issubclass(value_type, cst.CSTNode)
    return known


def children(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """Code-bearing children in source order."""
    for name in child_fields(type(node)):
        value = getattr(node, name)
        value_type = type(value)
        if value_type is tuple or value_type is list:
            for item in value:
                if is_node_type(type(item)):
                    yield item
        elif is_node_type(value_type):
            yield value


def walk(node: cst.CSTNode, into_functions: bool = False) -> Iterator[cst.CSTNode]:
    """Pre-order walk of a subtree; nested function and class bodies are skipped
    unless ``into_functions`` (their code does not run where it is defined)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        if (
            current is not node
            and not into_functions
            and isinstance(current, (cst.FunctionDef, cst.ClassDef, cst.Lambda))
        ):
            continue
        stack.extend(reversed(list(children(current))))


def names_in(node: cst.CSTNode) -> set[str]:
    return {n.value for n in walk(node) if isinstance(n, cst.Name)}


def assigned_names(target: cst.BaseExpression) -> Iterable[str]:
    """Names bound by an assignment target (``a``, ``a, b``, ``[a, *b]``)."""
    if isinstance(target, cst.Name):
        yield target.value
    elif isinstance(target, (cst.Tuple, cst.List)):
        for element in target.elements:
            yield from assigned_names(element.value)
    elif isinstance(target, cst.StarredElement):
        yield from assigned_names(target.value)
