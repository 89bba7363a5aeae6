from __future__ import annotations

from typing import ClassVar

import libcst as cst

from ..context import FileContext
from ..events import EventKind
from ..fixes import InsertStatement, PendingFix, RemoveStatement
from ..rule import Invalid, Rule
from ..syntax import names_bound_in, names_in, terminal_name
from ._clipping import Iteration, Placed, is_clip, iteration_of

_BEFORE = (
    "`{clip}` runs before `backward()` in this iteration, on gradients that are cleared or left from the "
    "last step, so it does not limit the update; clip between `backward()` and `step()`"
)
_AFTER = (
    "`{clip}` runs after `step()`, on gradients the update has already used, so it does not limit the "
    "update; clip between `backward()` and `step()`"
)


class ClipOutsideBackwardStep(Rule):
    """
    ## What it does
    Flags `clip_grad_norm_` / `clip_grad_value_` where it cannot shape the update:
    before `backward()` in the iteration (on cleared or stale gradients) or after
    `step()`.

    A loop body is read as a cycle: a clip at the top of the body comes after the
    previous iteration's backward, and is correct when the step follows it.

    ## Why is this bad?
    Clipping changes `.grad` in place; only the `step()` that reads `.grad` next
    feels it. Clipping right after `zero_grad()` clips zeros (or nothing), and
    clipping after `step()` clips gradients that have already been applied (and are
    about to be cleared). Training runs unclipped, which is usually noticed only
    when it diverges.

    ## Example
    ```python
    optimizer.zero_grad()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    loss.backward()
    optimizer.step()
    ```

    ## Use instead
    ```python
    optimizer.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    ```

    ## Known false positives
    Only the code in sight is ordered: backward and step in functions of the same
    file count, those in another module (a framework's hook) do not, and then
    nothing is reported. Gradient accumulation (`if (i + 1) % k == 0:` around the
    clip and the step) and clipping inside an LBFGS closure are correct and silent.

    ## Fix safety
    Unsafe: the clip moves to just before the `step()`, after the backward, which
    changes the update (as intended). Offered when the clip and the step are in the
    same block and the clip's arguments are not rebound in between.
    """

    code: ClassVar[str] = "AGL016"
    name: ClassVar[str] = "clip-outside-backward-step"
    message: ClassVar[str] = _BEFORE
    fix_safety = frozenset({"unsafe"})
    triggers = ("clip_grad",)

    VALID = (
        "import torch\nfor x in data:\n    opt.zero_grad()\n    model(x).sum().backward()\n"
        "    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)\n    opt.step()\n",
        # Gradient accumulation.
        "import torch\nfor i, x in enumerate(data):\n    (model(x).sum() / 4).backward()\n    if (i + 1) % 4 == 0:\n"
        "        nn.utils.clip_grad_norm_(model.parameters(), 1.0)\n        opt.step()\n        opt.zero_grad()\n",
        # The rotated loop: the clip at the top sees the previous iteration's backward.
        "import torch\nfor x in data:\n    clip_grad_value_(model.parameters(), 0.5)\n    opt.step()\n"
        "    opt.zero_grad()\n    model(x).sum().backward()\n",
        # An LBFGS closure clips after its own backward.
        "import torch\ndef closure():\n    opt.zero_grad()\n    loss = model(x).sum()\n    loss.backward()\n"
        "    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)\n    return loss\nfor _ in range(5):\n"
        "    opt.step(closure)\n",
        # if/else branches: the other branch's step does not run before this clip.
        "import torch\nfor x in data:\n    opt.zero_grad()\n    if amp:\n        scaler.scale(f(x)).backward()\n"
        "        scaler.unscale_(opt)\n        clip_grad_norm_(params, 1.0)\n        scaler.step(opt)\n"
        "    else:\n        f(x).backward()\n        clip_grad_norm_(params, 1.0)\n        opt.step()\n",
        # A helper that only clips: its caller orders it.
        "import torch\ndef clip(model):\n    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)\n",
        # Skipping a bad batch clears and leaves the iteration.
        "import torch\nfor x in data:\n    loss = f(x)\n    loss.backward()\n    if not torch.isfinite(loss):\n"
        "        opt.zero_grad()\n        continue\n    clip_grad_norm_(params, 1.0)\n    opt.step()\n    opt.zero_grad()\n",
        # A loop over parameter groups around the clip.
        "import torch\nfor x in data:\n    opt.zero_grad()\n    f(x).backward()\n    for group in opt.param_groups:\n"
        "        clip_grad_norm_(group['params'], 1.0)\n    opt.step()\n",
    )
    INVALID = (
        Invalid(
            "import torch\nfor x, y in loader:\n    optimizer.zero_grad()\n"
            "    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)\n"
            "    loss = crit(model(x), y)\n    loss.backward()\n    optimizer.step()\n",
            lines=(4,),
            fixed="import torch\nfor x, y in loader:\n    optimizer.zero_grad()\n"
            "    loss = crit(model(x), y)\n    loss.backward()\n"
            "    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)\n    optimizer.step()\n",
            unsafe=True,
        ),
        Invalid(
            "import torch\ndef train_step(model, opt, x):\n    opt.zero_grad()\n    model(x).mean().backward()\n"
            "    opt.step()\n    norm = nn.utils.clip_grad_norm_(model.parameters(), 5.0)\n    return norm\n",
            lines=(6,),
            fixed="import torch\ndef train_step(model, opt, x):\n    opt.zero_grad()\n    model(x).mean().backward()\n"
            "    norm = nn.utils.clip_grad_norm_(model.parameters(), 5.0)\n    opt.step()\n    return norm\n",
            unsafe=True,
        ),
        # Clipped at the top of the body, after the previous step, before this backward.
        Invalid(
            "import torch\nfor x in data:\n    clip_grad_value_(model.parameters(), 0.5)\n    opt.zero_grad()\n"
            "    with torch.autocast('cuda'):\n        loss = model(x).sum()\n    loss.backward()\n    opt.step()\n",
            lines=(3,),
            fixed="import torch\nfor x in data:\n    opt.zero_grad()\n"
            "    with torch.autocast('cuda'):\n        loss = model(x).sum()\n    loss.backward()\n"
            "    clip_grad_value_(model.parameters(), 0.5)\n    opt.step()\n",
            unsafe=True,
        ),
        # The step sits in another block: reported, not moved.
        Invalid(
            "import torch\nfor i, x in enumerate(data):\n    opt.zero_grad()\n    clip_grad_norm_(params, 1.0)\n"
            "    f(x).backward()\n    if i % 2:\n        opt.step()\n",
            lines=(4,),
        ),
    )

    def __init__(self, context: FileContext) -> None:
        super().__init__(context)
        self.clips: list[cst.Call] = []

    def visit_Call(self, node: cst.Call) -> None:
        if is_clip(node):
            self.clips.append(node)

    def finish(self) -> None:
        iterations: dict[cst.CSTNode, Iteration] = {}
        for clip in self.clips:
            iteration = iteration_of(self.context, clip, iterations)
            if iteration is None:
                continue
            previous, following = iteration.around(clip)
            kind = _misplaced(previous, following)
            if kind is None:
                continue
            name = terminal_name(clip.func)
            message = (_AFTER if kind == "after" else _BEFORE).format(clip=name)
            self.report(clip, message, self._move(iteration, clip))

    def _move(self, iteration: Iteration, clip: cst.Call) -> PendingFix | None:
        """Move the clip's statement to just before the step that follows a backward."""
        tree = self.context.tree
        statement = tree.statement_of(clip)
        if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
            return None
        position = iteration.positions[clip]
        steps = [p for p in iteration.events if p.event.kind is EventKind.STEP and p.event.via is None]
        later = [s for s in steps if s.position > position and _backward_between(iteration, position, s.position)]
        earlier = [s for s in steps if s.position < position and _backward_between(iteration, -1, s.position)]
        target = later[0] if later else (earlier[-1] if earlier else None)
        if target is None:
            return None
        stepping = tree.statement_of(target.anchor)
        if tree.parent(stepping) is not tree.parent(statement):
            return None
        low, high = sorted((position, target.position))
        crossed = [
            n
            for n, p in iteration.positions.items()
            if low < p < high and isinstance(n, cst.SimpleStatementLine) and n is not statement
        ]
        reads, binds = names_in(clip), names_bound_in(statement)
        if any(names_bound_in(n) & reads or names_in(n) & binds for n in crossed):
            return None  # the clip's arguments change on the way, or its result is read there
        code = self.context.module.code_for_node(statement.body[0])
        edits = (RemoveStatement(statement), InsertStatement(stepping, (code,)))
        return PendingFix("Clip between `backward()` and `step()`", "unsafe", edits)


def _misplaced(previous: Placed | None, following: Placed | None) -> str | None:
    before = previous.event.kind if previous else None
    after = following.event.kind if following else None
    if before is EventKind.STEP:
        return "after"
    if before is EventKind.CLEAR or (after is EventKind.BACKWARD and before is not EventKind.BACKWARD):
        return "before"
    return None


def _backward_between(iteration: Iteration, start: int, end: int) -> bool:
    return any(p.event.kind is EventKind.BACKWARD and start < p.position < end for p in iteration.events)
