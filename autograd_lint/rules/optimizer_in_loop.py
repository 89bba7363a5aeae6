from __future__ import annotations

from typing import ClassVar

import libcst as cst

from ..context import FileContext
from ..events import EventKind
from ..rule import Invalid, Rule
from ..syntax import dotted_name, is_zero, keyword, names_bound_in, walk

# torch.optim classes that keep per-parameter state between steps, and what that state is.
_STATE = {
    "Adam": "moment estimates",
    "AdamW": "moment estimates",
    "Adamax": "moment estimates",
    "NAdam": "moment estimates",
    "RAdam": "moment estimates",
    "SparseAdam": "moment estimates",
    "Adafactor": "second-moment estimates",
    "RMSprop": "running averages",
    "Adadelta": "running averages",
    "Adagrad": "accumulated squared gradients",
    "Rprop": "step sizes",
    "ASGD": "averages",
    "LBFGS": "curvature history",
    "SGD": "momentum",
}
# Methods that reset a model's weights, or move them to another device (where the old
# optimizer's state does not follow): an optimizer built after them starts over on purpose.
_RESETS = frozenset({"apply", "load_state_dict", "reset_parameters", "init_weights", "_reset_parameters", "to", "cuda"})


class OptimizerInLoop(Rule):
    """
    ## What it does
    Flags a stateful optimizer (SGD with momentum, the Adam family, RMSprop,
    Adagrad, ...) constructed inside the training loop over parameters that outlive
    the iteration.

    It is correct, and silent, when what it optimises is made fresh in that
    iteration (a model built in the loop, an adversarial example or a latent
    created per sample, a model whose weights the iteration resets or moves to
    another device), for plain SGD
    without momentum, and for a one-off switch under an `if`.

    ## Why is this bad?
    A new optimizer starts with empty state. Adam's moment estimates, SGD's
    momentum buffer and Adagrad's sums restart every iteration, so Adam takes its
    first, bias-corrected steps over and over (about `lr` in size whatever the
    gradient), momentum never builds up, and the learning-rate schedule written on
    the old optimizer is lost. Training still runs; it just converges worse.

    ## Example
    ```python
    for epoch in range(epochs):
        optimizer = torch.optim.Adam(model.parameters(), lr=lr * 0.95**epoch)
        for x, y in loader:
            ...
            optimizer.step()
    ```

    ## Use instead
    Hoist the construction above the loop, and change the learning rate through the
    optimizer's `param_groups` or a scheduler:
    ```python
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.95)
    for epoch in range(epochs):
        for x, y in loader:
            ...
            optimizer.step()
        scheduler.step()
    ```

    ## Known false positives
    A loop over runs or folds that trains the same, never re-initialised, model
    object again and again (warm restarts on purpose) is reported; add
    `# noqa: AGL020` there. Only loops that step an optimizer in sight (their own
    code or same-file functions they call) are checked.

    ## Fix safety
    No fix: hoisting moves the construction before names it may need, and the
    learning-rate change the loop made must be rewritten as a schedule.
    """

    code: ClassVar[str] = "AGL020"
    name: ClassVar[str] = "optimizer-in-loop"
    message: ClassVar[str] = (
        "`{optimizer}` is built anew in every iteration of this loop, over parameters that outlive it, so its "
        "{state} restart each time; build it once before the loop (and schedule the learning rate)"
    )
    triggers = ("optim",)

    VALID = (
        """
        import torch
        opt = torch.optim.Adam(model.parameters())
        for x in data:
            opt.zero_grad()
            model(x).sum().backward()
            opt.step()
        """,
        # Adversarial examples: the optimised tensor is made in the iteration.
        """
        import torch
        for x, y in loader:
            delta = torch.zeros_like(x, requires_grad=True)
            opt = torch.optim.Adam([delta], lr=0.01)
            for _ in range(10):
                opt.zero_grad()
                (-crit(model(x + delta), y)).backward()
                opt.step()
        """,
        # A fresh model per fold or per trial.
        """
        import torch
        for fold in range(5):
            model = Net()
            opt = torch.optim.AdamW(model.parameters())
            for x in data:
                opt.zero_grad()
                model(x).sum().backward()
                opt.step()
        """,
        """
        import torch
        for net in nets:
            opt = torch.optim.Adam(net.parameters())
            train(net, opt)
        """,
        # Plain SGD keeps no state.
        """
        import torch
        for epoch in range(3):
            opt = torch.optim.SGD(model.parameters(), lr=0.1 * 0.9**epoch)
            for x in data:
                opt.zero_grad()
                model(x).sum().backward()
                opt.step()
        """,
        # Weights reset before the new optimizer.
        """
        import torch
        for run in range(3):
            model.apply(init_weights)
            opt = torch.optim.Adam(model.parameters())
            for x in data:
                opt.zero_grad()
                model(x).sum().backward()
                opt.step()
        """,
        # Timing the same model on each device: moved, then a new optimizer.
        """
        import torch
        for device in ['cpu', 'cuda']:
            opt = torch.optim.Adam(model.fc.parameters())
            model.to(device)
            for x in data:
                opt.zero_grad()
                model(x).sum().backward()
                opt.step()
        """,
        # A one-off switch to another optimizer.
        """
        import torch
        for epoch in range(10):
            if epoch == 5:
                opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
            for x in data:
                opt.zero_grad()
                model(x).sum().backward()
                opt.step()
        """,
    )
    INVALID = (
        Invalid(
            """
            import torch
            for epoch in range(10):
                optimizer = torch.optim.Adam(model.parameters(), lr=lr * 0.95**epoch)
                for x, y in loader:
                    optimizer.zero_grad()
                    crit(model(x), y).backward()
                    optimizer.step()
            """,
            lines=(3,),
        ),
        # Both optimizers of a GAN rebuilt every epoch, stepped in a method of the file.
        Invalid(
            """
            import torch
            from torch import optim
            class GAN:
                def step(self, x):
                    self.opt_d.zero_grad()
                    self.d_loss(x).backward()
                    self.opt_d.step()
                def fit(self, loader):
                    for epoch in range(100):
                        self.opt_d = optim.Adam(self.D.parameters(), betas=(0.5, 0.999))
                        self.opt_g = optim.RMSprop(self.G.parameters())
                        for x in loader:
                            self.step(x)
            """,
            lines=(10, 11),
        ),
        Invalid(
            """
            import torch
            while not done:
                opt = torch.optim.SGD(params, 0.1, 0.9)
                opt.zero_grad()
                loss_fn().backward()
                opt.step()
            """,
            lines=(3,),
        ),
    )

    def __init__(self, context: FileContext) -> None:
        super().__init__(context)
        self.constructions: list[tuple[cst.Call, str]] = []

    def visit_Assign(self, node: cst.Assign) -> None:
        value = node.value
        if type(value) is cst.Call:
            qualified = self.context.imports.qualified(value.func) or ""
            if qualified.startswith("torch.optim.") and qualified.count(".") == 2:
                kind = qualified.rsplit(".", 1)[1]
                if kind in _STATE and (kind != "SGD" or _has_momentum(value)):
                    self.constructions.append((value, kind))

    def finish(self) -> None:
        tree = self.context.tree
        for call, kind in self.constructions:
            loop = tree.enclosing_loop(call)
            if loop is None or self._conditional(call, loop):
                continue
            if not any(e.kind is EventKind.STEP for e in self.context.events.of_loop(loop)):
                continue
            params = call.args[0].value if call.args and call.args[0].keyword is None else None
            flag = keyword(call, "params")
            params = flag.value if flag is not None else params
            if params is None:
                continue
            roots = self._roots(params)
            if not roots or roots & self._fresh_in(loop):
                continue
            self.report(call, self.message.format(optimizer=tree.code(call.func), state=_STATE[kind]))

    def _conditional(self, call: cst.Call, loop: cst.CSTNode) -> bool:
        for ancestor in self.context.tree.ancestors(call):
            if ancestor is loop:
                return False
            if isinstance(ancestor, (cst.If, cst.Try)):
                return True
        return False

    def _roots(self, params: cst.BaseExpression) -> set[str] | None:
        """The names the parameters hang from (``model`` in ``list(model.parameters())``);
        ``None`` when they are made right there (``Adam([torch.zeros(3, requires_grad=True)])``)."""
        roots: set[str] = set()
        imports = self.context.imports
        for node in walk(params):
            if isinstance(node, cst.Call) and (imports.qualified(node.func) or "").startswith("torch."):
                return None
            if isinstance(node, (cst.Attribute, cst.Name)):
                parent = self.context.tree.parent(node)
                text = dotted_name(node)
                if text is None or isinstance(parent, cst.Attribute):
                    continue
                if isinstance(parent, cst.Arg) and parent.keyword is node:
                    continue
                if imports.qualified(node) is None:
                    roots.add(_root(text))
        return roots - _HELPERS

    def _fresh_in(self, loop: cst.For | cst.While) -> set[str]:
        """Names the loop binds each iteration (``self.x`` paths too), and models it resets."""
        fresh = set(names_bound_in(loop))
        for node in walk(loop.body):
            if isinstance(node, cst.Assign):
                fresh.update(_root(dotted_name(t.target) or "") for t in node.targets)
            elif (
                isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value in _RESETS
            ):
                fresh.add(_root(dotted_name(node.func.value) or ""))
        return fresh


_HELPERS = frozenset({"list", "filter", "chain", "itertools", "dict"})


def _root(text: str) -> str:
    """``model`` for ``model.encoder``; ``self.model`` for ``self.model.encoder``."""
    parts = text.split(".")
    return ".".join(parts[:2]) if parts[0] in ("self", "cls") and len(parts) > 1 else parts[0]


def _has_momentum(call: cst.Call) -> bool:
    flag = keyword(call, "momentum")
    value = flag.value if flag is not None else None
    if value is None:
        positional = [a for a in call.args if a.keyword is None]
        value = positional[2].value if len(positional) > 2 else None
    return isinstance(value, (cst.Integer, cst.Float)) and not is_zero(value)
