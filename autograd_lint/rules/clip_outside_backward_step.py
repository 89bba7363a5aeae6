from __future__ import annotations

from typing import ClassVar

import libcst as cst

from ..context import FileContext
from ..events import EventKind
from ..fixes import InsertStatement, PendingFix, RemoveStatement
from ..rule import Invalid, Rule
from ..syntax import terminal_name
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
        """
        import torch
        for x in data:
            opt.zero_grad()
            model(x).sum().backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
        """,
        # Gradient accumulation.
        """
        import torch
        for i, x in enumerate(data):
            (model(x).sum() / 4).backward()
            if (i + 1) % 4 == 0:
                nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                opt.step()
                opt.zero_grad()
        """,
        # The rotated loop: the clip at the top sees the previous iteration's backward.
        """
        import torch
        for x in data:
            clip_grad_value_(model.parameters(), 0.5)
            opt.step()
            opt.zero_grad()
            model(x).sum().backward()
        """,
        # An LBFGS closure clips after its own backward.
        """
        import torch
        def closure():
            opt.zero_grad()
            loss = model(x).sum()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            return loss
        for _ in range(5):
            opt.step(closure)
        """,
        # if/else branches: the other branch's step does not run before this clip.
        """
        import torch
        for x in data:
            opt.zero_grad()
            if amp:
                scaler.scale(f(x)).backward()
                scaler.unscale_(opt)
                clip_grad_norm_(params, 1.0)
                scaler.step(opt)
            else:
                f(x).backward()
                clip_grad_norm_(params, 1.0)
                opt.step()
        """,
        # A helper that only clips: its caller orders it.
        """
        import torch
        def clip(model):
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        """,
        # Skipping a bad batch clears and leaves the iteration.
        """
        import torch
        for x in data:
            loss = f(x)
            loss.backward()
            if not torch.isfinite(loss):
                opt.zero_grad()
                continue
            clip_grad_norm_(params, 1.0)
            opt.step()
            opt.zero_grad()
        """,
        # A loop over parameter groups around the clip.
        """
        import torch
        for x in data:
            opt.zero_grad()
            f(x).backward()
            for group in opt.param_groups:
                clip_grad_norm_(group['params'], 1.0)
            opt.step()
        """,
    )
    INVALID = (
        Invalid(
            """
            import torch
            for x, y in loader:
                optimizer.zero_grad()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                loss = crit(model(x), y)
                loss.backward()
                optimizer.step()
            """,
            lines=(4,),
            fixed="""
            import torch
            for x, y in loader:
                optimizer.zero_grad()
                loss = crit(model(x), y)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
            """,
            unsafe=True,
        ),
        Invalid(
            """
            import torch
            def train_step(model, opt, x):
                opt.zero_grad()
                model(x).mean().backward()
                opt.step()
                norm = nn.utils.clip_grad_norm_(model.parameters(), 5.0)
                return norm
            """,
            lines=(6,),
            fixed="""
            import torch
            def train_step(model, opt, x):
                opt.zero_grad()
                model(x).mean().backward()
                norm = nn.utils.clip_grad_norm_(model.parameters(), 5.0)
                opt.step()
                return norm
            """,
            unsafe=True,
        ),
        # Clipped at the top of the body, after the previous step, before this backward.
        Invalid(
            """
            import torch
            for x in data:
                clip_grad_value_(model.parameters(), 0.5)
                opt.zero_grad()
                with torch.autocast('cuda'):
                    loss = model(x).sum()
                loss.backward()
                opt.step()
            """,
            lines=(3,),
            fixed="""
            import torch
            for x in data:
                opt.zero_grad()
                with torch.autocast('cuda'):
                    loss = model(x).sum()
                loss.backward()
                clip_grad_value_(model.parameters(), 0.5)
                opt.step()
            """,
            unsafe=True,
        ),
        # The step sits in another block: reported, not moved.
        Invalid(
            """
            import torch
            for i, x in enumerate(data):
                opt.zero_grad()
                clip_grad_norm_(params, 1.0)
                f(x).backward()
                if i % 2:
                    opt.step()
            """,
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
        reads, binds = tree.names_in(clip), tree.names_bound_in(statement)
        if any(tree.names_bound_in(n) & reads or tree.names_in(n) & binds for n in crossed):
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
