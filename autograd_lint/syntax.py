"""Small helpers over libcst nodes: dotted names, calls and their arguments, walks over subtrees."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator

import libcst as cst


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
            for name in node_type.__dataclass_fields__  # type: ignore[attr-defined]
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
    return names_of(walk(node))


def names_of(nodes: Iterable[cst.CSTNode]) -> set[str]:
    """The identifiers among ``nodes`` (``names_in`` of a walk the caller already has)."""
    return {n.value for n in nodes if type(n) is cst.Name}


def assigned_names(target: cst.BaseExpression) -> Iterable[str]:
    """Names bound by an assignment target (``a``, ``a, b``, ``[a, *b]``)."""
    if isinstance(target, cst.Name):
        yield target.value
    elif isinstance(target, (cst.Tuple, cst.List)):
        for element in target.elements:
            yield from assigned_names(element.value)
    elif isinstance(target, cst.StarredElement):
        yield from assigned_names(target.value)


def names_bound_in(node: cst.CSTNode) -> set[str]:
    """Names that code in ``node`` binds (assignments, loop targets, ``with ... as``, ``del``)."""
    return names_bound_by(walk(node))


_BINDING_TARGETS = frozenset({cst.AugAssign, cst.AnnAssign, cst.For, cst.NamedExpr, cst.Del})


def names_bound_by(nodes: Iterable[cst.CSTNode]) -> set[str]:
    """``names_bound_in`` of a walk the caller already has. Exact node types, not ``isinstance``:
    parsed nodes are of libcst's concrete classes, and the ABC check is slow in long walks."""
    bound: set[str] = set()
    for inner in nodes:
        inner_type = type(inner)
        if inner_type is cst.Assign:
            for t in inner.targets:  # type: ignore[attr-defined]
                bound.update(assigned_names(t.target))
        elif inner_type in _BINDING_TARGETS:
            bound.update(assigned_names(inner.target))  # type: ignore[attr-defined]
        elif inner_type is cst.WithItem and inner.asname is not None:  # type: ignore[attr-defined]
            bound.update(assigned_names(inner.asname.name))  # type: ignore[attr-defined]
    return bound


def is_zero(node: cst.BaseExpression) -> bool:
    """A literal ``0`` or ``0.0``."""
    if not isinstance(node, (cst.Integer, cst.Float)):
        return False
    try:
        return bool(ast.literal_eval(node.value) == 0)
    except (ValueError, SyntaxError):
        return False


def strip_data(node: cst.BaseExpression) -> cst.BaseExpression:
    """``x`` for ``x.data``; anything else unchanged."""
    if isinstance(node, cst.Attribute) and node.attr.value == "data":
        return node.value
    return node
