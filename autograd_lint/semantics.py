"""What torch code means without running it: which calls backpropagate, step, clear or update
gradients, which blocks run under ``no_grad``, which names hold tensors."""

from __future__ import annotations

from collections.abc import Sequence

import libcst as cst

from .facts import Sealed
from .imports import ImportTable
from .syntax import dotted_name, is_true, is_zero, keyword, method_call, strip_data, terminal_name
from .tree import SyntaxTree

NO_GRAD_CONTEXTS = frozenset({"torch.no_grad", "torch.inference_mode"})
TENSOR_FACTORIES = frozenset(
    "torch." + name
    for name in (
        "tensor randn rand randint randn_like rand_like zeros ones empty full arange linspace "
        "logspace eye zeros_like ones_like empty_like full_like from_numpy as_tensor stack cat "
        "normal randperm"
    ).split()
)
PARAMETER_MAKERS = frozenset({"torch.nn.Parameter", "torch.autograd.Variable"})
# In-place methods that are not an update from a gradient.
_NOT_UPDATES = frozenset({"zero_", "requires_grad_", "detach_"})
# Receivers whose `.backward(x)` backpropagates from its argument: Accelerate, Fabric, DeepSpeed's
# engine, ColossalAI's and Apex's optimizers, trainers' strategies.
_BACKWARD_OWNERS = ("accelerator", "fabric", "engine", "optim", "trainer", "strategy", "booster", "amp")
# torch functions that return no tensor (a bool, a number, a device, a context, nothing).
_NOT_TENSOR_FUNCTIONS = frozenset(
    "device dtype manual_seed seed save load no_grad enable_grad inference_mode set_grad_enabled numel "
    "compile typename get_default_dtype get_rng_state initial_seed use_deterministic_algorithms".split()
)
# Tensor methods that return a tensor (so `x.view(...).data` is a tensor's `.data`).
TENSOR_METHODS = frozenset(
    "view view_as reshape reshape_as unsqueeze squeeze permute transpose t contiguous clone detach float double "
    "half bfloat16 long int bool cuda cpu to type_as expand expand_as repeat flatten narrow select index_select "
    "gather masked_fill sum mean prod std var norm abs exp log sqrt pow neg sign sigmoid tanh relu softmax "
    "log_softmax clamp clamp_ mul add sub div matmul mm bmm mv addmm cumsum flip roll squeeze_ "
    "unsqueeze_ add_ sub_ mul_ div_ copy_ fill_ zero_ normal_ uniform_ detach_".split()
)


class TorchSemantics(Sealed):
    """Questions about torch calls. Those that need only the imports work during the facts walk;
    those that read the file's facts raise until the walk is over."""

    def __init__(self, imports: ImportTable, tree: SyntaxTree, own_autograd: bool = False) -> None:
        super().__init__()
        self.imports = imports
        self.tree = tree
        self.own_autograd = own_autograd
        self._no_grad_functions: dict[cst.FunctionDef, bool] = {}

    def qualified(self, expression: cst.BaseExpression) -> str | None:
        return self.imports.qualified(expression)

    # --- needs the imports only ---

    def is_no_grad(self, expression: cst.BaseExpression) -> bool:
        if isinstance(expression, cst.Call):
            qualified = self.qualified(expression.func)
            if qualified == "torch.set_grad_enabled":
                first = expression.args[0].value if expression.args else None
                return isinstance(first, cst.Name) and first.value == "False"
            return qualified in NO_GRAD_CONTEXTS
        return self.qualified(expression) in NO_GRAD_CONTEXTS

    def backward_target(self, call: cst.Call) -> cst.BaseExpression | None:
        """The tensor a call backpropagates from, if it is a backward call."""
        func = call.func
        if not isinstance(func, cst.Attribute):
            return None
        method = func.attr.value
        first = call.args[0].value if call.args and call.args[0].keyword is None else None
        if method == "manual_backward":
            return first
        if method != "backward" or self.own_autograd:
            return None
        if self.qualified(func) == "torch.autograd.backward":
            return first
        receiver = func.value
        receiver_name = (terminal_name(receiver) or "").lower()
        if first is not None and (
            any(word in receiver_name for word in _BACKWARD_OWNERS)
            or receiver_name in ("opt", "model_engine")
            or receiver_name.startswith("opt_")
            or "loss" in (terminal_name(first) or "").lower()
        ):
            # `accelerator.backward(loss)`: the loss is the argument, never the receiver.
            return first
        scaled = method_call(receiver, "scale")
        if scaled is not None and isinstance(receiver, cst.Call) and receiver.args:
            return receiver.args[0].value
        return receiver

    def makes_leaf_requiring_grad(self, call: cst.Call) -> bool:
        """``torch.randn(3, requires_grad=True)``, ``nn.Parameter(...)``, ``Variable(t, requires_grad=True)``."""
        qualified = self.qualified(call.func)
        flag = keyword(call, "requires_grad")
        if qualified == "torch.nn.Parameter":
            return flag is None or not (isinstance(flag.value, cst.Name) and flag.value.value == "False")
        return flag is not None and is_true(flag.value) and (qualified is None or qualified.startswith("torch."))

    # --- needs the file's facts ---

    def in_no_grad(self, node: cst.CSTNode) -> bool:
        """Does ``node`` run with gradient recording off (``with torch.no_grad()``, a
        ``@torch.no_grad()`` function, or a function only called from such places)?"""
        self.facts  # noqa: B018 - the answer depends on the file's calls: complete facts only
        for ancestor in self.tree.ancestors(node):
            if isinstance(ancestor, cst.With) and any(self.is_no_grad(i.item) for i in ancestor.items):
                return True
            if isinstance(ancestor, cst.FunctionDef):
                if any(self.is_no_grad(d.decorator) for d in ancestor.decorators):
                    return True
                return self._only_called_under_no_grad(ancestor)
        return False

    def _only_called_under_no_grad(self, function: cst.FunctionDef) -> bool:
        """Is every same-file call of this function (``f()``, ``self.f()``) under ``no_grad``?
        One call that records is enough to say no; a function never called here is not."""
        cached = self._no_grad_functions.get(function)
        if cached is not None:
            return cached
        self._no_grad_functions[function] = False  # a recursive call does not prove itself
        calls = self.facts.calls_by_name.get(function.name.value, ())
        answer = bool(calls) and all(self.in_no_grad(call) for call in calls)
        self._no_grad_functions[function] = answer
        return answer

    def step_target(self, call: cst.Call) -> cst.BaseExpression | None:
        """The optimizer a call steps (``opt.step()``, ``scaler.step(opt)``), if any."""
        func = method_call(call, "step")
        if func is None:
            return None
        receiver = func.value
        name = (terminal_name(receiver) or "").lower()
        if "sched" in name or name.startswith("lr") or "warmup" in name:
            return None
        if "scaler" in name:
            return call.args[0].value if call.args else receiver
        text = dotted_name(receiver)
        if "opt" in name or "solver" in name or (text is not None and text in self.facts.optimizer_names):
            return receiver
        return None

    def clear_target(self, node: cst.CSTNode) -> cst.BaseExpression | None:
        """What a node clears the gradients of: ``m.zero_grad()``, ``p.grad = None``,
        ``del p.grad``, ``p.grad.zero_()``, ``p.grad.data.fill_(0)``; else ``None``."""
        if isinstance(node, cst.Attribute):
            # `optimizer.zero_grad` handed over uncalled, to a hook or a helper (`register(opt.zero_grad)`,
            # `callback=opt.zero_grad`, `self.clear = opt.zero_grad`). Named as a bare statement, it does nothing.
            if node.attr.value != "zero_grad":
                return None
            parent = self.tree.parent(node)
            handed_over = isinstance(parent, cst.Arg) or (isinstance(parent, cst.Assign) and parent.value is node)
            return node.value if handed_over else None
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
            method = node.func.attr.value
            if method == "zero_grad":
                return node.func.value
            receiver = strip_data(node.func.value)
            if isinstance(receiver, cst.Attribute) and receiver.attr.value == "grad":
                zero_argument = bool(node.args) and is_zero(node.args[0].value)
                if method == "zero_" or (method in ("fill_", "mul_") and zero_argument):
                    return receiver.value
            return None
        targets: Sequence[cst.BaseExpression] = ()
        if isinstance(node, cst.AugAssign) and isinstance(node.operator, cst.MultiplyAssign):
            if is_zero(node.value) and isinstance(node.target, cst.Attribute) and node.target.attr.value == "grad":
                return node.target.value
        elif isinstance(node, cst.Assign):
            targets = [t.target for t in node.targets]
        elif isinstance(node, (cst.AnnAssign, cst.Del)):
            targets = [node.target]
        for target in targets:
            if isinstance(target, cst.Attribute) and target.attr.value == "grad":
                return target.value
        return None

    def mentions_grad(self, node: cst.CSTNode) -> bool:
        aliases = self.facts.grad_aliases
        for inner in self.tree.walk(node):
            inner_type = type(inner)
            if inner_type is cst.Attribute and inner.attr.value == "grad":  # type: ignore[attr-defined]
                return True
            if inner_type is cst.Name and inner.value in aliases:  # type: ignore[attr-defined]
                return True
        return False

    def update_target(self, node: cst.CSTNode) -> cst.BaseExpression | None:
        """The tensor a statement part updates from its gradient (``p -= lr * p.grad``,
        ``p.data.sub_(lr * g)``, ``p.add_(p.grad, alpha=-lr)``, ``p.data = ...``)."""
        if isinstance(node, cst.AugAssign):
            return strip_data(node.target) if self.mentions_grad(node.value) else None
        if isinstance(node, cst.Assign):
            for t in node.targets:
                target = t.target
                if not self.mentions_grad(node.value):
                    continue
                if isinstance(target, cst.Attribute) and target.attr.value == "data":
                    return target.value
                if isinstance(target, cst.Name) and self._reads_own_grad(node.value, target.value):
                    return target
            return None
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
            method = node.func.attr.value
            if method.endswith("_") and not method.startswith("_") and method not in _NOT_UPDATES:
                receiver = node.func.value
                if isinstance(receiver, cst.Attribute) and receiver.attr.value == "grad":
                    return None
                if any(self.mentions_grad(arg.value) for arg in node.args):
                    return strip_data(receiver)
        return None

    def _reads_own_grad(self, value: cst.BaseExpression, name: str) -> bool:
        return any(
            isinstance(n, cst.Attribute) and n.attr.value == "grad" and dotted_name(n.value) == name
            for n in self.tree.walk(value)
        )

    def is_tensor(self, expression: cst.BaseExpression) -> bool:
        """Is there evidence in this file that ``expression`` holds a tensor?"""
        if isinstance(expression, cst.Attribute) and expression.attr.value in ("grad", "weight", "bias"):
            return True
        text = dotted_name(expression)
        if text is None:
            return isinstance(expression, cst.Call) and self.makes_tensor(expression)
        facts = self.facts
        if text in facts.foreign_names and text not in facts.torch_made_names:
            return False  # an instance of another library's class (micrograd's `Value`, a dataclass)
        if facts.own_autograd:
            return text in facts.requires_grad_names or text in facts.torch_made_names
        if text in facts.tensor_names or text in facts.grad_aliases or text in facts.backward_targets:
            return True
        return "loss" in text.rsplit(".", 1)[-1].lower()

    def makes_tensor(self, call: cst.Call) -> bool:
        """A torch function that returns a tensor (``torch.unsqueeze(x, 1)``, ``F.relu(x)``), or a
        tensor method on something the file shows to be a tensor (``x.view(-1)``)."""
        qualified = self.qualified(call.func)
        if qualified is not None:
            module, _, name = qualified.rpartition(".")
            if qualified in TENSOR_FACTORIES:
                return True
            if module in ("torch", "torch.nn.functional", "torch.linalg", "torch.fft", "torch.special"):
                return (
                    name[:1].islower()
                    and name not in _NOT_TENSOR_FUNCTIONS
                    and not name.startswith(("is_", "set_", "get_"))
                )
            return False
        func = call.func
        return isinstance(func, cst.Attribute) and func.attr.value in TENSOR_METHODS and self.is_tensor(func.value)

    def backward_losses(self, target: cst.BaseExpression) -> list[cst.Name]:
        """The loss names a backward's target is built from: ``loss`` for ``loss``, ``(loss / k)``,
        ``(loss * w)`` or ``-loss``: the leftmost operand, and any operand named like a loss."""
        found: list[cst.Name] = []
        leftmost = True
        pending: list[cst.BaseExpression] = [target]
        while pending:
            node = pending.pop()
            if isinstance(node, cst.Name):
                if leftmost or "loss" in node.value.lower():
                    found.append(node)
                leftmost = False
            elif isinstance(node, cst.BinaryOperation):
                pending.extend((node.right, node.left))
            elif isinstance(node, cst.UnaryOperation):
                pending.append(node.expression)
            else:
                leftmost = False
        return found
