from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import libcst as cst

from ..fixes import PendingFix, Replace
from ..rule import Invalid, Rule
from ..syntax import walk

# Legacy type name prefix -> the dtype it stands for.
_DTYPES = {
    "Float": "float32",
    "Double": "float64",
    "Half": "float16",
    "BFloat16": "bfloat16",
    "Byte": "uint8",
    "Char": "int8",
    "Short": "int16",
    "Int": "int32",
    "Long": "int64",
    "Bool": "bool",
}
_LEGACY_TYPES = {
    f"{module}.{prefix}Tensor": (dtype, module == "torch.cuda")
    for prefix, dtype in _DTYPES.items()
    for module in ("torch", "torch.cuda")
}
_ALIAS_CALL_MESSAGE = (
    "`{alias}` is the legacy tensor type `{name}`; use `torch.tensor(..., dtype=torch.{dtype})` "
    "or `torch.empty(..., dtype=torch.{dtype})`"
)
_REFERENCE_MESSAGE = (
    "`{name}` is a legacy tensor type; name the dtype `torch.{dtype}` (and a `device=`) instead, "
    "e.g. `x.to(torch.{dtype})` or `x.dtype == torch.{dtype}`"
)


class LegacyTensorType(Rule):
    """
    ## What it does
    Flags the legacy tensor types (`torch.FloatTensor`, `torch.cuda.LongTensor`, ...),
    called or referenced.

    The family is Float, Double, Half, BFloat16, Byte, Char, Short, Int, Long and
    Bool, each as `torch.<Name>Tensor` and `torch.cuda.<Name>Tensor`; a reference
    such as `dtype = torch.FloatTensor` or `x.type(torch.cuda.FloatTensor)` counts
    as much as a call.

    ## Why is this bad?
    These constructors predate tensors that carry autograd. They take no
    `requires_grad=`, `dtype=` or `device=` keyword, which is how old code ended up
    wrapping them in `Variable` and setting `.data`. Their arguments are ambiguous:
    `torch.FloatTensor(3)` is an *uninitialised* tensor of three elements while
    `torch.FloatTensor([3])` holds the value 3, so a size passed by mistake gives
    garbage that trains without an error. `torch.cuda.*` types hard-code the device.

    ## Example
    ```python
    weights = torch.FloatTensor([0.2, 0.8])
    buffer = torch.cuda.FloatTensor(64, 10)
    labels = labels.type(torch.LongTensor)
    ```

    ## Use instead
    ```python
    weights = torch.tensor([0.2, 0.8], dtype=torch.float32)
    buffer = torch.empty(64, 10, dtype=torch.float32, device="cuda")
    labels = labels.to(torch.int64)
    ```

    ## Known false positives
    None known: names are resolved through the file's imports (star imports of torch
    modules included); type annotations (`-> torch.FloatTensor`), `typing.cast(torch.FloatTensor, x)`
    and strings such as `x.type() == "torch.FloatTensor"` are not reported. `isinstance(x,
    torch.FloatTensor)` is reported although it still works; `x.dtype ==
    torch.float32` says the same thing without the legacy type.

    ## Fix safety
    Safe, for direct constructor calls only: a single list or tuple literal becomes
    `torch.tensor(<data>, dtype=...)`; integer sizes (or two or more arguments)
    become `torch.empty(<sizes>, dtype=...)`; no argument becomes
    `torch.empty(0, dtype=...)`; `device="cuda"` is added for `torch.cuda.*`. A single
    name argument is ambiguous (data or size?) and gets no fix, nor does a file that
    does not bind `torch` itself to a name. A call through a module-level alias
    (`Tensor = torch.cuda.FloatTensor if cuda else torch.FloatTensor`) gets the same
    fix, with `device="cuda" if cuda else "cpu"` when the branches differ in device only.

    Unsafe: a CUDA alias used only to move tensors (`dtype = torch.cuda.FloatTensor`,
    `x.type(dtype)`) becomes `device = torch.device("cuda" if torch.cuda.is_available()
    else "cpu")` and `x.to(device, torch.float32)`: the script then runs without a GPU
    too, on the CPU, where it used to fail.
    """

    code: ClassVar[str] = "AGL008"
    name: ClassVar[str] = "legacy-tensor-type"
    message: ClassVar[str] = (
        "`{name}` is a legacy tensor type; use `torch.tensor(..., dtype=torch.{dtype})` "
        "or `torch.empty(..., dtype=torch.{dtype})`"
    )
    fix_safety = frozenset({"safe", "unsafe"})
    triggers = tuple(f"{prefix}Tensor" for prefix in _DTYPES)

    VALID = (
        """
        import torch
        x = torch.tensor([1.0, 2.0], dtype=torch.float32)
        y = torch.empty(3, 4)
        """,
        # torch.Tensor is the tensor class itself, and strings are not code.
        """
        import torch

        def f(x: torch.Tensor) -> bool:
            return isinstance(x, torch.Tensor) and x.type() == 'torch.cuda.FloatTensor'
        """,
        # Another library's FloatTensor.
        """
        import torch
        from mylib.types import FloatTensor
        v = FloatTensor([1])
        """,
        # Annotations only document a type.
        """
        from typing import Optional
        import torch

        def forward(ids: Optional[torch.LongTensor] = None) -> tuple[torch.FloatTensor]:
            logits: torch.FloatTensor = model(ids)
            return (logits,)
        """,
        """
        import torch
        import numpy as np
        class Batch:
            LongTensor = int
        b = Batch.LongTensor(3)
        """,
        """
        import typing
        from typing import cast
        import torch
        a = cast(torch.FloatTensor, model(x))
        b = typing.cast(torch.cuda.LongTensor, ids)
        """,
    )
    INVALID = (
        Invalid(
            """
            import torch
            w = torch.FloatTensor([0.2, 0.8])
            b = torch.cuda.LongTensor(64, 10)
            e = torch.DoubleTensor()
            """,
            lines=(2, 3, 4),
            fixed="""
            import torch
            w = torch.tensor([0.2, 0.8], dtype=torch.float32)
            b = torch.empty(64, 10, dtype=torch.int64, device="cuda")
            e = torch.empty(0, dtype=torch.float64)
            """,
        ),
        Invalid(
            """
            import torch as t
            mask = t.ByteTensor((1, 0, 1))
            size = t.cuda.HalfTensor(8)
            """,
            lines=(2, 3),
            fixed="""
            import torch as t
            mask = t.tensor((1, 0, 1), dtype=t.uint8)
            size = t.empty(8, dtype=t.float16, device="cuda")
            """,
        ),
        Invalid(
            # A single name may be data or a size: reported without a fix.
            """
            import torch
            dtype = torch.cuda.FloatTensor
            x = torch.FloatTensor(values)
            y = x.type(torch.LongTensor)
            """,
            lines=(2, 3, 4),
        ),
        Invalid(
            # `torch` is not bound to a name: no fix can spell `torch.tensor`.
            """
            from torch import FloatTensor
            from torch.cuda import LongTensor as LT
            x = FloatTensor([1.0])
            y = LT(3)
            """,
            lines=(3, 4),
        ),
        Invalid(
            """
            import torch
            from torch import *
            t = FloatTensor([1.0, 2.0])
            with no_grad():
                u = DoubleTensor(3)
            """,
            lines=(3, 5),
            fixed="""
            import torch
            from torch import *
            t = torch.tensor([1.0, 2.0], dtype=torch.float32)
            with no_grad():
                u = torch.empty(3, dtype=torch.float64)
            """,
        ),
        Invalid(
            """
            import torch
            use_cuda = torch.cuda.is_available()
            Tensor = torch.cuda.FloatTensor if use_cuda else torch.FloatTensor
            noise = Tensor(64, 100)
            weights = Tensor([0.5, 0.5])
            """,
            lines=(3, 3, 4, 5),
            # The calls get the constructor with the run-time device; the alias itself stays.
        ),
        Invalid(
            """
            import torch
            LongTensor = torch.cuda.LongTensor
            def labels(n):
                return LongTensor(n).fill_(1)
            """,
            lines=(2, 4),
        ),
        Invalid(
            """
            import torch as T
            Tensor = T.cuda.DoubleTensor

            def prepare(batch):
                return batch.type(Tensor), batch.sum().type(Tensor)
            """,
            lines=(2,),
            fixed="""
            import torch as T
            device = T.device("cuda" if T.cuda.is_available() else "cpu")

            def prepare(batch):
                return batch.to(device, T.float64), batch.sum().to(device, T.float64)
            """,
            unsafe=True,
        ),
        Invalid(
            """
            import torch
            dtype = torch.cuda.FloatTensor # Uncomment this to run on GPU
            x = torch.rand(5).type(dtype).requires_grad_()
            target = torch.arange(1.0, 6.0).type(dtype)
            """,
            lines=(2,),
            fixed="""
            import torch
            device = torch.device("cuda" if torch.cuda.is_available() else "cpu") # Uncomment this to run on GPU
            x = torch.rand(5).to(device, torch.float32).requires_grad_()
            target = torch.arange(1.0, 6.0).to(device, torch.float32)
            """,
            unsafe=True,
        ),
    )

    def __init__(self, context) -> None:
        super().__init__(context)
        self.aliases: dict[str, _Alias] = {}
        self.name_calls: list[cst.Call] = []  # `Tensor(...)`: maybe an alias's constructor call
        self.type_calls: list[cst.Call] = []  # `x.type(dtype)`: maybe a move through an alias

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if node.attr.value.endswith("Tensor"):
            self._check(node)

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Name):
            self.name_calls.append(node)
        elif (
            isinstance(func, cst.Attribute)
            and func.attr.value == "type"
            and len(node.args) == 1
            and isinstance(node.args[0].value, cst.Name)
            and node.args[0].keyword is None
        ):
            self.type_calls.append(node)

    def visit_Name(self, node: cst.Name) -> None:
        if node.value not in self.context.imports.names:
            return
        parent = self.context.tree.parent(node)
        if isinstance(parent, (cst.ImportAlias, cst.AsName)):
            return
        if isinstance(parent, cst.Attribute) and (parent.attr is node or parent.value is node):
            return  # an attribute is checked as a whole
        self._check(node)

    def _check(self, node: cst.BaseExpression) -> None:
        qualified = self.context.imports.qualified(node)
        legacy = _LEGACY_TYPES.get(qualified or "")
        if legacy is None:
            return
        if any(isinstance(ancestor, cst.Annotation) for ancestor in self.context.tree.ancestors(node)):
            return  # `-> torch.FloatTensor` documents a type and builds nothing (transformers does it everywhere)
        if self._is_cast_type(node):
            return  # `typing.cast(torch.FloatTensor, x)` is a type use as much as an annotation
        dtype, on_cuda = legacy
        call = self.context.tree.parent(node)
        if isinstance(call, cst.Call) and call.func is node:
            message = self.message.format(name=qualified, dtype=dtype)
            self.report(call, message, self._constructor_fix(call, dtype, on_cuda))
        elif not self._record_alias(node, dtype, on_cuda):
            self.report(node, _REFERENCE_MESSAGE.format(name=qualified, dtype=dtype))

    def _is_cast_type(self, node: cst.BaseExpression) -> bool:
        arg = self.context.tree.parent(node)
        call = self.context.tree.parent(arg) if isinstance(arg, cst.Arg) else None
        return (
            isinstance(call, cst.Call)
            and call.args[0] is arg
            and self.context.imports.other_qualified(call.func) == "typing.cast"
        )

    # --- aliases: `Tensor = torch.cuda.FloatTensor if cuda else torch.FloatTensor` ---

    def _record_alias(self, node: cst.BaseExpression, dtype: str, on_cuda: bool) -> bool:
        """Note a module-level ``NAME = <legacy type>`` (or either branch of ``... if c else ...``);
        its report waits for ``finish``, which knows the alias's uses."""
        tree = self.context.tree
        parent = tree.parent(node)
        test = None
        node_parent: cst.BaseExpression
        if isinstance(parent, cst.IfExp) and node in (parent.body, parent.orelse):
            test = parent.test if node is parent.body else None
            node_parent = parent
            parent = tree.parent(parent)
        else:
            node_parent = node
        if not (isinstance(parent, cst.Assign) and parent.value is node_parent and len(parent.targets) == 1):
            return False
        target = parent.targets[0].target
        line = tree.parent(parent)
        if not isinstance(target, cst.Name) or not isinstance(line, cst.SimpleStatementLine):
            return False
        if not isinstance(tree.parent(line), cst.Module):
            return False
        alias = self.aliases.setdefault(target.value, _Alias())
        alias.references.append((node, dtype, on_cuda))
        alias.assignments.add(parent)
        if test is not None:
            alias.test = test
        return True

    def finish(self) -> None:
        aliases = self.aliases
        if not aliases:
            return
        for call in self.name_calls:
            alias = aliases.get(call.func.value)  # type: ignore[attr-defined]
            if alias is not None:
                dtype, on_cuda = alias.references[0][1:]
                name = ("torch.cuda." if on_cuda else "torch.") + _legacy_name(dtype)
                message = _ALIAS_CALL_MESSAGE.format(alias=call.func.value, name=name, dtype=dtype)  # type: ignore[attr-defined]
                sound, device = alias.device(self.context.module)
                fix = self._constructor_fix(call, dtype, device) if sound else None
                self.report(call, message, fix)
        for name, alias in aliases.items():
            fix = self._device_fix(name, alias)
            for node, dtype, _ in alias.references:
                qualified = self.context.imports.qualified(node)
                self.report(node, _REFERENCE_MESSAGE.format(name=qualified, dtype=dtype), fix)
                fix = None

    def _device_fix(self, name: str, alias: _Alias) -> PendingFix | None:
        """``dtype = torch.cuda.FloatTensor`` used only as ``x.type(dtype)``: a device chosen at run time,
        and ``x.to(device, torch.float32)``, so the script runs with or without a GPU."""
        torch = self.context.imports.local_name("torch")
        dtypes = {dtype for _, dtype, _ in alias.references}
        if torch is None or len(alias.assignments) != 1 or len(dtypes) != 1:
            return None
        if not all(on_cuda for _, _, on_cuda in alias.references):
            return None
        moves = [call for call in self.type_calls if call.args[0].value.value == name]  # type: ignore[attr-defined]
        module = self.context.module
        names = [node.value for node in walk(module, into_functions=True) if isinstance(node, cst.Name)]
        if not moves or names.count(name) != len(moves) + 1 or "device" in names:
            return None  # used some other way too (or `device` is taken): the alias must stay
        (dtype,) = dtypes
        (assignment,) = alias.assignments
        device = f'device = {torch}.device("cuda" if {torch}.cuda.is_available() else "cpu")'
        edits = [Replace(assignment, device)]
        for call in moves:
            receiver = module.code_for_node(call.func.value)  # type: ignore[attr-defined]
            edits.append(Replace(call, f"{receiver}.to(device, {torch}.{dtype})"))
        description = f"Choose the device at run time and move with `.to(device, {torch}.{dtype})`"
        return PendingFix(description, "unsafe", tuple(edits))

    def _constructor_fix(self, call: cst.Call, dtype: str, device: bool | str | None) -> PendingFix | None:
        """``device``: ``True`` for CUDA, ``False``/``None`` for the default, or the code of a
        ``device=`` value."""
        torch = self.context.imports.local_name("torch")
        if torch is None or any(arg.keyword is not None or arg.star for arg in call.args):
            return None
        module = self.context.module
        arguments = [module.code_for_node(arg.value) for arg in call.args]
        first = call.args[0].value if call.args else None
        if len(call.args) == 1 and isinstance(first, (cst.List, cst.Tuple)):
            factory = "tensor"
        elif not call.args:
            factory, arguments = "empty", ["0"]
        elif len(call.args) > 1 or isinstance(first, cst.Integer):
            factory = "empty"
        else:
            return None
        keywords = [f"dtype={torch}.{dtype}"]
        if device is True:
            keywords.append('device="cuda"')
        elif isinstance(device, str):
            keywords.append(f"device={device}")
        code = f"{torch}.{factory}({', '.join(arguments + keywords)})"
        return PendingFix(f"Use `{torch}.{factory}` with a dtype", "safe", (Replace(call, code),))


@dataclass
class _Alias:
    """A module-level name bound to legacy tensor types: its references and assignments."""

    references: list[tuple[cst.BaseExpression, str, bool]] = field(default_factory=list)
    assignments: set[cst.Assign] = field(default_factory=set)
    test: cst.BaseExpression | None = None  # the condition picking the CUDA branch

    def device(self, module: cst.Module) -> tuple[bool, bool | str | None]:
        """Whether a constructor call through the alias has a sound fix, and the ``device=`` it
        needs: ``True`` (CUDA), ``None`` (the default) or the code of a run-time choice."""
        if len({dtype for _, dtype, _ in self.references}) != 1 or len(self.assignments) != 1:
            return False, None
        devices = {on_cuda for _, _, on_cuda in self.references}
        if len(devices) == 1:
            return True, (True if devices == {True} else None)
        test = self.test
        if len(self.references) == 2 and isinstance(test, (cst.Name, cst.Attribute)):
            cuda_first = self.references[0][2]
            condition = module.code_for_node(test)
            return True, (f'"cuda" if {condition} else "cpu"' if cuda_first else f'"cpu" if {condition} else "cuda"')
        return False, None


def _legacy_name(dtype: str) -> str:
    return next(f"{prefix}Tensor" for prefix, value in _DTYPES.items() if value == dtype)
