from __future__ import annotations

from typing import ClassVar

import libcst as cst

from ..fixes import PendingFix, Replace
from ..rule import Invalid, Rule
from ..syntax import assigned_names, dotted_name, keyword, terminal_name, walk
from ._stale_graphs import StaleGraphs

# Receivers whose `.data` is a field of their own (a dataset's samples, a config value),
# unless the file shows them to be tensors.
_OWN_DATA_FIELDS = frozenset(
    {"self", "cls", "args", "opt", "opts", "options", "config", "cfg", "hparams", "data", "batch", "sample", "packed"}
)
_OWN_DATA_WORDS = ("dataset", "loader", "batch", "packed", "sequence")

_DROP = "Drop `.data`"
_DETACH = "Use `.detach()` for the value"
_NO_GRAD = "Update the tensor itself under `torch.no_grad()`"


class DataAttribute(Rule):
    """
    ## What it does
    Flags `.data` on a tensor.

    For example `x.data.sub_(...)`, `p.data -= lr * p.grad`, `w.data = ...`,
    `x.grad.data`, `loss.data[0]`, `loss.data.item()`. Only receivers
    the file shows to be tensors are reported (parameters, gradients, losses, tensors
    it creates, or a `.data` followed by an in-place tensor method or `.item()`), not
    `self.data`, `dataset.data` or `args.data`.

    ## Why is this bad?
    `.data` returns the same storage with autograd switched off for it. Reads through it
    drop out of the graph without saying so; writes through it are invisible to
    autograd's version counter, so a tensor that backward still needs can be changed
    underneath it and the gradients come out wrong with no error. `x.detach()` says
    the first thing explicitly, and an update under `torch.no_grad()` does the second
    while still letting autograd notice a conflicting in-place change.

    ## Example
    ```python
    for p in model.parameters():
        p.data -= lr * p.grad.data
    total += loss.data[0]
    ```

    ## Use instead
    ```python
    with torch.no_grad():
        for p in model.parameters():
            p -= lr * p.grad
    total += loss.item()
    ```

    ## Known false positives
    A non-tensor whose `.data` is followed by a method ending in `_` or by `.item()`,
    or whose name holds a tensor elsewhere in the file. A name bound to an instance of
    another library's class or of a plain class of the file (micrograd's `Value`, a
    dataclass) is not a tensor, and is not reported. `.data` passed to an
    `nn.init` function is not reported: those run without recording anyway. Code that uses `.data` on
    purpose to hide an update from autograd (some optimizers and weight-sharing
    tricks) should say so with `# noqa: AGL004`.

    ## Fix safety
    Safe where the meaning is unchanged: `x.grad.data` becomes `x.grad` (`x.grad.detach()`
    in a file that backpropagates with `create_graph=True`, where gradients carry a graph;
    an in-place change of such a gradient gets no fix), `x.data.item()` becomes `x.item()`
    on a tensor, and `loss.data[0]` becomes `loss.item()` when `loss` is backpropagated
    with a plain `backward()` (so it is a scalar); another `x.data[0]` becomes
    `x.detach()[0]` (unsafe), or gets no fix when only its name says it is a tensor.
    Unsafe: an in-place update already under `torch.no_grad()` drops `.data`, and
    elsewhere an update statement (`x.data.op_(...)`, `p.data -= ...`, `w.data = v`) is
    wrapped in `with torch.no_grad():` as `x.op_(...)`, `p -= ...` or `w.copy_(v)`. Autograd
    then sees the change, so a backward through a graph that saved the old value would raise
    where `.data` silently gave wrong gradients: these fixes are offered only where the file
    shows no such backward can run (one later in the same pass goes through a graph built
    after the update, one that runs again in the next iteration or call builds its graph
    afresh first, none keeps its graph with `retain_graph` or `create_graph`, and a function's
    update is proved at each of its calls in the file), on a receiver the file shows to be a
    tensor, and for `w.data = v` only when `v` is made from `w` itself (so has its shape, dtype
    and device, as `copy_` needs). Any other read becomes `x.detach()`, unless the value read
    is bound to a name that is later changed in place where that proof fails.
    """

    code: ClassVar[str] = "AGL004"
    name: ClassVar[str] = "data-attribute"
    message: ClassVar[str] = (
        "autograd cannot see through `.data`; use `.detach()` for a value, "
        "or update the tensor itself under `torch.no_grad()`"
    )
    fix_safety = frozenset({"safe", "unsafe"})
    triggers = (".data",)

    VALID = (
        """
        import torch

        class Pairs(torch.utils.data.Dataset):
            def __init__(self, data):
                self.data = data

            def __getitem__(self, i):
                return self.data[i]
        """,
        """
        import torch
        from torch.utils.data import DataLoader
        images = dataset.data.float() / 255
        print(args.data, batch.data, dataset.data.shape)
        """,
        """
        import torch
        with torch.no_grad():
            for p in model.parameters():
                p -= 0.1 * p.grad
        value = loss.detach()
        """,
        """
        import torch
        self.data.sort_values()
        outputs = net(images)
        print(outputs.data.shape)
        """,
        """
        import torch
        import torch.nn as nn

        def init(m):
            nn.init.normal_(m.weight.data, 0.0, 0.02)
            torch.nn.init.constant_(m.bias.data, 0.0)
        """,
        """
        import torch

        class Graph:
            def run(self):
                self.backward()
                self.data.clear_()
                return self.data
        """,
        """
        import torch
        from micrograd.engine import Value
        a = Value(2.0)
        loss = Value(-4.0) * a
        loss.backward()
        a.data += -0.01 * a.grad
        print(loss.data)
        """,
        """
        import torch
        from dataclasses import dataclass
        @dataclass
        class Sample:
            data: list
            label: int
        sample = Sample([1, 2], 0)
        sample.data.sort()
        batch_item = Sample([3], 1)
        batch_item.data.append_(3)
        """,
    )
    INVALID = (
        Invalid(
            # `cost` is backpropagated with a plain `backward()`, so it is a scalar: `[0]` meant `.item()`.
            """
            import torch
            for p in model.parameters():
                p.grad.data.zero_()
            last = loss.data.item()
            g = p.grad
            norm = g.data.norm()
            cost.backward()
            print(cost.data[0])
            """,
            lines=(3, 4, 6, 8),
            fixed="""
            import torch
            for p in model.parameters():
                p.grad.zero_()
            last = loss.item()
            g = p.grad
            norm = g.norm()
            cost.backward()
            print(cost.item())
            """,
        ),
        Invalid(
            # Only a loss is a scalar whose `[0]` meant `.item()` in PyTorch 0.3; a row stays a row.
            """
            import torch
            x = torch.randn(5, 3)
            first = x.data[0]
            """,
            lines=(3,),
            fixed="""
            import torch
            x = torch.randn(5, 3)
            first = x.detach()[0]
            """,
            unsafe=True,
        ),
        Invalid(
            """
            import torch
            w = torch.randn(3, requires_grad=True)
            with torch.no_grad():
                w.data.mul_(0.5)
            """,
            lines=(4,),
            fixed="""
            import torch
            w = torch.randn(3, requires_grad=True)
            with torch.no_grad():
                w.mul_(0.5)
            """,
            unsafe=True,
        ),
        Invalid(
            """
            import torch as t
            w = t.randn(3, requires_grad=True)
            for step in range(10):
                w.data.sub_(0.1 * w.grad)  # descend
                w.data = w.data.clamp(0, 1)
            """,
            lines=(4, 5, 5),
            fixed="""
            import torch as t
            w = t.randn(3, requires_grad=True)
            for step in range(10):
                with t.no_grad():
                    w.sub_(0.1 * w.grad)  # descend
                with t.no_grad():
                    w.copy_(w.detach().clamp(0, 1))
            """,
            unsafe=True,
        ),
        Invalid(
            """
            import torch

            def sgd(params, lr):
              for p in params:
                p.data -= lr * p.grad

            for inputs, labels in loader:
              loss = criterion(model(inputs), labels)
              loss.backward()
              sgd(model.parameters(), 0.1)

            for p in model.parameters():
              snapshot = p.data.cpu()
            """,
            # Each call of `sgd` follows its loop's backward, whose graph is built afresh each
            # iteration: no graph that saved the old `p` is backpropagated after the update.
            lines=(5, 13),
            fixed="""
            import torch

            def sgd(params, lr):
              for p in params:
                with torch.no_grad():
                  p -= lr * p.grad

            for inputs, labels in loader:
              loss = criterion(model(inputs), labels)
              loss.backward()
              sgd(model.parameters(), 0.1)

            for p in model.parameters():
              snapshot = p.detach().cpu()
            """,
            unsafe=True,
        ),
        Invalid(
            """
            import torch
            x = torch.randn(4)
            col = torch.unsqueeze(x, 1).data
            flat = x.view(-1).data
            """,
            lines=(3, 4),
            fixed="""
            import torch
            x = torch.randn(4)
            col = torch.unsqueeze(x, 1).detach()
            flat = x.view(-1).detach()
            """,
            unsafe=True,
        ),
        Invalid(
            """
            import torch
            ema.data.mul_(0.99)
            ema.data.copy_(param.data)
            """,
            # Only its name and its use say `ema` is a tensor: `ema.mul_` might not exist, so
            # its updates get no fix (the read of `param.data` still does).
            lines=(2, 3, 3),
        ),
        Invalid(
            """
            import torch
            w = torch.randn(3, requires_grad=True)
            loss = (w * w).sum()
            with torch.no_grad():
                w.data.mul_(0.5)
            loss.backward()
            """,
            # `loss` saved the old `w`: after `w.mul_(0.5)` its backward would raise. No fix.
            lines=(5,),
        ),
        Invalid(
            """
            import torch
            w = torch.randn(3, requires_grad=True)
            w.data = w.data.clamp(0, 1)
            """,
            # A value made from `w` itself keeps its shape, dtype and device, as `copy_` must.
            lines=(3, 3),
            fixed="""
            import torch
            w = torch.randn(3, requires_grad=True)
            with torch.no_grad():
                w.copy_(w.detach().clamp(0, 1))
            """,
            unsafe=True,
        ),
        Invalid(
            """
            import torch
            mask = torch.ones(3)
            mask.data = torch.zeros(5)
            """,
            # `.data =` may change shape, dtype or device; `copy_` cannot. No fix.
            lines=(3,),
        ),
        Invalid(
            """
            import torch
            import torch.nn.functional as F
            losses = F.mse_loss(pred, target, reduction="none")
            first = losses.data[0]
            meter_loss = meter.data[0]
            """,
            lines=(4,),
            fixed="""
            import torch
            import torch.nn.functional as F
            losses = F.mse_loss(pred, target, reduction="none")
            first = losses.detach()[0]
            meter_loss = meter.data[0]
            """,
            unsafe=True,
        ),
        Invalid(
            """
            import torch
            loss = (w ** 3).sum()
            loss.backward(create_graph=True)
            norm = w.grad.data.norm()
            w.grad.data.zero_()
            """,
            lines=(4, 5),
            # After `create_graph=True` a read detaches; an in-place change gets no fix.
        ),
        Invalid(
            """
            import torch
            print(epoch_loss.data[0])
            """,
            lines=(2,),
        ),
    )

    def __init__(self, context) -> None:
        super().__init__(context)
        self.uses: list[cst.Attribute] = []
        self._proofs: StaleGraphs | None = None
        self._number_names: frozenset[str] | None = None

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if node.attr.value == "data":
            self.uses.append(node)

    def finish(self) -> None:
        # Decided after the walk, when the file's tensor evidence is complete.
        for node in self.uses:
            usage = self._usage(node)
            if self._is_tensor(node, usage) and not self._is_init_argument(node):
                self.report(node, fix=self._fix(node, usage))

    # --- what the `.data` is used for ---

    def _usage(self, node: cst.Attribute) -> str:
        parent = self.context.tree.parent(node)
        if isinstance(parent, cst.Attribute) and parent.value is node:
            call = self.context.tree.parent(parent)
            if isinstance(call, cst.Call) and call.func is parent:
                method = parent.attr.value
                if method == "item" and not call.args:
                    return "item"
                if method.endswith("_") and not method.startswith("_"):
                    return "inplace"
        if isinstance(parent, cst.AssignTarget):
            return "assign"
        if isinstance(parent, cst.AugAssign) and parent.target is node:
            return "augassign"
        if isinstance(parent, cst.Subscript) and parent.value is node:
            holder = self.context.tree.parent(parent)
            if isinstance(holder, cst.AssignTarget) or (isinstance(holder, cst.AugAssign) and holder.target is parent):
                return "item_assign"
            if _is_index_zero(parent):
                return "index_zero"
        return "read"

    def _is_init_argument(self, node: cst.Attribute) -> bool:
        """``nn.init.normal_(m.weight.data)``: ``nn.init`` already works without recording."""
        arg = self.context.tree.parent(node)
        call = self.context.tree.parent(arg) if isinstance(arg, cst.Arg) else None
        return isinstance(call, cst.Call) and (self.context.imports.qualified(call.func) or "").startswith(
            "torch.nn.init."
        )

    def _is_tensor(self, node: cst.Attribute, usage: str) -> bool:
        receiver = node.value
        if self.context.imports.qualified(receiver) is not None:
            return False  # a torch module such as `torch.utils.data`
        if isinstance(receiver, cst.Name) and receiver.value in ("self", "cls"):
            return False  # an object's own field, even in a class that calls `self.backward()`
        if self.context.torch.is_tensor(receiver):
            return True
        name = dotted_name(receiver)
        if name is not None and name in self.context.facts.foreign_names:
            return False  # an instance of another library's class: its `.data` is its own
        if usage not in ("inplace", "item"):
            return usage == "read" and self._read_into_inplace(node)
        return self._named_like_tensor(receiver)

    def _named_like_tensor(self, receiver: cst.BaseExpression) -> bool:
        name = (terminal_name(receiver) or "").lower()
        return name not in _OWN_DATA_FIELDS and not any(word in name for word in _OWN_DATA_WORDS)

    def _read_into_inplace(self, node: cst.Attribute) -> bool:
        """``src.data`` read into an in-place update of a tensor: ``dst.data.copy_(src.data)``,
        ``ema.data.mul_(d).add_(p.data, alpha=1 - d)``: what is copied into a tensor is a tensor."""
        current: cst.CSTNode = node
        for ancestor in self.context.tree.ancestors(node):
            if isinstance(ancestor, cst.Call):
                func = ancestor.func
                if current is func or not isinstance(func, cst.Attribute):
                    return False
                method = func.attr.value
                inplace_of_tensor = method in ("copy_", "add_", "sub_", "mul_", "lerp_") and (
                    (isinstance(func.value, cst.Attribute) and func.value.attr.value == "data")
                    or self.context.torch.is_tensor(func.value)
                )
                return inplace_of_tensor
            if not isinstance(ancestor, (cst.Arg, cst.BinaryOperation, cst.UnaryOperation)):
                return False
            current = ancestor
        return False

    # --- fixes ---

    def _fix(self, node: cst.Attribute, usage: str) -> PendingFix | None:
        module = self.context.module
        receiver = module.code_for_node(node.value)
        is_grad = (isinstance(node.value, cst.Attribute) and node.value.attr.value == "grad") or (
            dotted_name(node.value) in self.context.facts.grad_aliases
        )
        torch = self.context.torch
        if usage == "item":
            return PendingFix(_DROP, "safe", (Replace(node, receiver),)) if torch.is_tensor(node.value) else None
        if is_grad and usage not in ("assign", "item_assign"):
            if not self._grads_may_have_graphs():
                return PendingFix(_DROP, "safe", (Replace(node, receiver),))
            # After `backward(create_graph=True)` a `.grad` has a graph: dropping `.data` would record.
            if usage == "read":
                return PendingFix(_DETACH, "safe", (Replace(node, f"{receiver}.detach()"),))
            return None
        if usage == "index_zero":
            subscript = self.context.tree.parent(node)
            if self._is_scalar(node.value) and subscript is not None:
                return PendingFix("Use `.item()`", "safe", (Replace(subscript, f"{receiver}.item()"),))
            if not self._has_tensor_evidence(node.value):
                return None  # only its name says "loss": `.detach()` might not exist on it
        if usage in ("read", "index_zero"):
            if not all(self._stale_graphs().update_unobserved(s) for s in self._changes_in_place(node)):
                return None  # `v = w.data; v.mul_(2)`: through `w.detach()`, autograd would see it
            return PendingFix(_DETACH, "unsafe", (Replace(node, f"{receiver}.detach()"),))
        # An update through `.data`: autograd will see it, so a backward through a graph that saved
        # the old value would raise. Offered only where the file shows no such backward can run.
        if not self._has_tensor_evidence(node.value) or not self._stale_graphs().update_unobserved(node):
            return None
        statement = self._lone_statement(node)
        update = None
        if usage == "assign":
            assign = statement.body[0] if statement is not None else None
            if statement is None or not isinstance(assign, cst.Assign) or len(assign.targets) != 1:
                return None
            if not _keeps_shape(assign.value, node.value, self._numbers()):
                return None  # `w.data = v` may change shape, dtype or device; `w.copy_(v)` cannot
            update = f"{receiver}.copy_({module.code_for_node(assign.value)})"
        if self.context.torch.in_no_grad(node):
            if update is not None and statement is not None:
                return PendingFix(_NO_GRAD, "unsafe", (Replace(statement.body[0], update),))
            return PendingFix(_DROP, "unsafe", (Replace(node, receiver),))
        if statement is not None and (usage != "inplace" or self._is_statement_call(node, statement)):
            if update is None:
                update = module.code_for_node(statement.body[0].deep_replace(node, node.value))
            wrapped = self._wrap_in_no_grad(statement, update)
            if wrapped is not None:
                return PendingFix(_NO_GRAD, "unsafe", (Replace(statement, wrapped),))
        if usage == "inplace":
            return PendingFix(_DETACH, "unsafe", (Replace(node, f"{receiver}.detach()"),))
        return None

    def _is_scalar(self, receiver: cst.BaseExpression) -> bool:
        """A scalar the file backpropagates from with a plain ``backward()`` (which only a
        one-element tensor allows): what ``x.data[0]`` read in PyTorch 0.3 and ``x.item()`` reads now.
        A per-element loss (``reduction="none"``) indexed with ``[0]`` is a row, never a scalar."""
        name = dotted_name(receiver)
        if name is None:
            return False
        torch = self.context.torch
        for call in self.context.facts.backward_calls:
            target = torch.backward_target(call)
            if target is not None and dotted_name(target) == name and not _has_gradient_argument(call, target):
                return True
        return False

    def _has_tensor_evidence(self, receiver: cst.BaseExpression) -> bool:
        """Evidence beyond the name: made by torch, a parameter, a gradient, a backward's target."""
        facts = self.context.facts
        name = dotted_name(receiver)
        return name is not None and (
            name in facts.tensor_names or name in facts.backward_targets or name in facts.torch_made_names
        )

    def _stale_graphs(self) -> StaleGraphs:
        if self._proofs is None:
            self._proofs = StaleGraphs(self.context)
        return self._proofs

    def _changes_in_place(self, node: cst.Attribute) -> list[cst.CSTNode]:
        """Where the value read through ``.data`` is changed in place under the name it is bound
        to (``v = w.data.cpu()`` ... ``v.mul_(2)``): after ``.detach()``, autograd sees those."""
        tree = self.context.tree
        holder: cst.CSTNode = node
        parent = tree.parent(holder)
        while (
            isinstance(parent, (cst.Attribute, cst.Call))
            and getattr(parent, "value", getattr(parent, "func", None)) is holder
        ):
            holder = parent
            parent = tree.parent(holder)
        if not (isinstance(parent, cst.Assign) and parent.value is holder):
            return []
        names = {name for target in parent.targets for name in assigned_names(target.target)}
        changes: list[cst.CSTNode] = []
        for inner in walk(tree.scope_of(node), into_functions=True):
            if isinstance(inner, cst.Attribute) and dotted_name(inner.value) in names:
                method = inner.attr.value
                if method.endswith("_") and not method.startswith("_"):
                    changes.append(inner)
            elif isinstance(inner, cst.AugAssign) and dotted_name(inner.target) in names:
                changes.append(inner)
            elif isinstance(inner, cst.AssignTarget) and isinstance(inner.target, cst.Subscript):
                if dotted_name(inner.target.value) in names:
                    changes.append(inner)
        return changes

    def _numbers(self) -> frozenset[str]:
        """Names the file only ever binds to numbers (``lr = 0.1``)."""
        if self._number_names is None:
            values: dict[str, list[cst.BaseExpression | None]] = {}
            for inner in walk(self.context.module, into_functions=True):
                if isinstance(inner, cst.Assign):
                    for target in inner.targets:
                        for name in assigned_names(target.target):
                            single = isinstance(target.target, cst.Name)
                            values.setdefault(name, []).append(inner.value if single else None)
                elif isinstance(inner, (cst.AugAssign, cst.AnnAssign, cst.For, cst.NamedExpr, cst.Del)):
                    for name in assigned_names(inner.target):
                        values.setdefault(name, []).append(None)
                elif isinstance(inner, cst.Param):
                    values.setdefault(inner.name.value, []).append(None)
            self._number_names = frozenset(
                name
                for name, bound in values.items()
                if all(v is not None and _is_number(v, frozenset()) for v in bound)
            )
        return self._number_names

    def _grads_may_have_graphs(self) -> bool:
        """Does the file backpropagate with ``create_graph=True`` (higher-order gradients)?"""
        return any(
            (flag := keyword(call, "create_graph")) is not None and not is_false(flag.value)
            for call in self.context.facts.backward_calls
        )

    def _lone_statement(self, node: cst.CSTNode) -> cst.SimpleStatementLine | None:
        """The line holding ``node`` when it is the line's only statement, in a block."""
        statement = self.context.tree.statement_of(node)
        if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
            return None
        if not isinstance(self.context.tree.parent(statement), (cst.IndentedBlock, cst.Module)):
            return None
        return statement

    def _is_statement_call(self, node: cst.Attribute, statement: cst.SimpleStatementLine) -> bool:
        """``x.data.op_(...)`` is the whole statement, not part of a larger expression."""
        expression = statement.body[0]
        method = self.context.tree.parent(node)
        call = self.context.tree.parent(method) if method is not None else None
        return isinstance(expression, cst.Expr) and call is not None and expression.value is call

    def _wrap_in_no_grad(self, statement: cst.SimpleStatementLine, code: str) -> str | None:
        imports = self.context.imports
        torch = imports.local_name("torch")
        no_grad = f"{torch}.no_grad()" if torch is not None else None
        if no_grad is None:
            local = imports.local_name("torch.no_grad")
            no_grad = f"{local}()" if local is not None else None
        if no_grad is None:
            return None
        module = self.context.module
        levels = [
            module.default_indent if block.indent is None else block.indent
            for block in self.context.tree.ancestors(statement)
            if isinstance(block, cst.IndentedBlock)
        ]
        # The new level repeats the innermost block's own step (the file's default at top level).
        step = levels[0] if levels else module.default_indent
        indent = "".join(reversed(levels))
        return f"with {no_grad}:{module.default_newline}{indent}{step}{code}"


def _has_gradient_argument(call: cst.Call, target: cst.BaseExpression) -> bool:
    """``y.backward(torch.ones_like(y))`` or ``backward(gradient=...)``: ``y`` may have many elements."""
    if keyword(call, "gradient") is not None or keyword(call, "grad_tensors") is not None:
        return True
    positional = [arg for arg in call.args if arg.keyword is None]
    if positional and positional[0].value is target:
        positional = positional[1:]  # `torch.autograd.backward(loss, ...)`, `accelerator.backward(loss)`
    return bool(positional)


def is_false(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value == "False"


def _is_index_zero(subscript: cst.Subscript) -> bool:
    if len(subscript.slice) != 1:
        return False
    index = subscript.slice[0].slice
    return isinstance(index, cst.Index) and isinstance(index.value, cst.Integer) and index.value.value == "0"


# Methods whose result has the receiver's shape, dtype and device (given number arguments).
_SHAPE_KEEPING = frozenset(
    {"abs", "clamp", "clamp_max", "clamp_min", "clip", "clone", "contiguous", "detach", "exp", "log", "neg"}
    | {"relu", "sigmoid", "sign", "sqrt", "tanh", "add", "sub", "mul", "div", "pow", "lerp"}
)


def _keeps_shape(value: cst.BaseExpression, receiver: cst.BaseExpression, numbers: frozenset[str]) -> bool:
    """Has ``value`` the receiver's shape, dtype and device, whatever they are? Built from the
    receiver (its ``.data``, its ``.grad``), numbers, arithmetic, and the methods above."""
    if _is_number(value, numbers):
        return False  # `w.data = 0.5` would not even run
    return _like(value, receiver, numbers)


def _like(value: cst.BaseExpression, receiver: cst.BaseExpression, numbers: frozenset[str]) -> bool:
    if value.deep_equals(receiver):
        return True
    if isinstance(value, cst.Attribute) and value.attr.value in ("data", "grad"):
        return _like(value.value, receiver, numbers)
    if isinstance(value, cst.UnaryOperation):
        return _like(value.expression, receiver, numbers)
    if isinstance(value, cst.BinaryOperation):
        sides = (value.left, value.right)
        return all(_like(side, receiver, numbers) or _is_number(side, numbers) for side in sides) and any(
            _like(side, receiver, numbers) for side in sides
        )
    if isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute):
        method = value.func.attr.value
        arguments = [arg.value for arg in value.args]
        return (
            method in _SHAPE_KEEPING
            and _like(value.func.value, receiver, numbers)
            and all(_like(a, receiver, numbers) or _is_number(a, numbers) for a in arguments)
        )
    return False


def _is_number(value: cst.BaseExpression, numbers: frozenset[str]) -> bool:
    if isinstance(value, (cst.Integer, cst.Float)):
        return True
    if isinstance(value, cst.Name):
        return value.value in numbers
    if isinstance(value, cst.UnaryOperation):
        return _is_number(value.expression, numbers)
    if isinstance(value, cst.BinaryOperation):
        return _is_number(value.left, numbers) and _is_number(value.right, numbers)
    return False
