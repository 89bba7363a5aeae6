from __future__ import annotations

from typing import ClassVar

import libcst as cst

from ..context import FileContext
from ..events import EventKind
from ..fixes import InsertStatement, PendingFix, RemoveStatement
from ..rule import Invalid, Rule
from ..syntax import terminal_name
from ._clipping import Iteration, Placed, is_clip, iteration_of, scaler_of


class ClipBeforeUnscale(Rule):
    """
    ## What it does
    Flags gradients clipped after `scaler.scale(loss).backward()` without
    `scaler.unscale_(optimizer)` between the backward and the clip.

    ## Why is this bad?
    With a `GradScaler`, `backward()` leaves gradients multiplied by the loss scale
    (65,536 at the start, by default). A clip at `max_norm=1.0` then sees norms tens
    of thousands of times too large, always fires, and scales the real gradients
    down by as much: the update nearly vanishes, and the loss merely decreases
    slowly. `scaler.step()` unscales only after the clip has done its damage.

    ## Example
    ```python
    scaler.scale(loss).backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    scaler.step(optimizer)
    scaler.update()
    ```

    ## Use instead
    ```python
    scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    scaler.step(optimizer)
    scaler.update()
    ```

    ## Known false positives
    Only torch's `clip_grad_norm_`/`clip_grad_value_` are checked: a framework's
    own method (`accelerator.clip_grad_norm_`, fairseq's `optimizer.clip_grad_norm`)
    may unscale first and is not reported. A `GradScaler(enabled=False)` makes the
    missing unscale harmless on that run, but the flag is usually switched on for
    GPUs, so it is reported all the same.

    ## Fix safety
    Unsafe (the update changes, as intended): inserts `scaler.unscale_(optimizer)`
    before the clip, naming the optimizer the scaler steps next; an `unscale_`
    written after the clip moves before it instead. Only one clip per step gets the
    line, since a second `unscale_` before `update()` raises.
    """

    code: ClassVar[str] = "AGL017"
    name: ClassVar[str] = "clip-before-unscale"
    message: ClassVar[str] = (
        "gradients are clipped while still multiplied by the GradScaler's scale, so `{clip}` cuts them "
        "by that factor too; call `{scaler}.unscale_({optimizer})` before clipping"
    )
    fix_safety = frozenset({"unsafe"})
    triggers = ("clip_grad",)

    VALID = (
        """
        import torch
        for x in data:
            opt.zero_grad()
            scaler.scale(f(x)).backward()
            scaler.unscale_(opt)
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            scaler.step(opt)
            scaler.update()
        """,
        # No scaler: nothing to unscale.
        """
        import torch
        for x in data:
            opt.zero_grad()
            f(x).backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
        """,
        # accelerate and fairseq unscale inside their own clipping methods.
        """
        import torch
        for x in data:
            opt.zero_grad()
            scaler.scale(f(x)).backward()
            accelerator.clip_grad_norm_(params, 1.0)
            optimizer.clip_grad_norm(1.0)
            scaler.step(opt)
            scaler.update()
        """,
        # Accumulation: unscale and clip only on the stepping iterations.
        """
        import torch
        for i, x in enumerate(data):
            scaler.scale(f(x) / 4).backward()
            if (i + 1) % 4 == 0:
                scaler.unscale_(opt)
                clip_grad_norm_(params, 1.0)
                scaler.step(opt)
                scaler.update()
                opt.zero_grad()
        """,
    )
    INVALID = (
        Invalid(
            """
            import torch
            for x, y in loader:
                optimizer.zero_grad()
                with torch.autocast('cuda'):
                    loss = crit(model(x), y)
                scaler.scale(loss).backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                scaler.step(optimizer)
                scaler.update()
            """,
            lines=(7,),
            fixed="""
            import torch
            for x, y in loader:
                optimizer.zero_grad()
                with torch.autocast('cuda'):
                    loss = crit(model(x), y)
                scaler.scale(loss).backward()
                scaler.unscale_(optimizer)
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                scaler.step(optimizer)
                scaler.update()
            """,
            unsafe=True,
        ),
        # Unscaled after the clip: the unscale moves up.
        Invalid(
            """
            import torch
            def train_step(x):
                opt.zero_grad()
                amp_scaler.scale(f(x)).backward()
                if clip > 0:
                    clip_grad_value_(params, clip)
                amp_scaler.unscale_(opt)
                amp_scaler.step(opt)
                amp_scaler.update()
            """,
            lines=(6,),
        ),
        Invalid(
            """
            import torch
            def train_step(x):
                opt.zero_grad()
                amp_scaler.scale(f(x)).backward()
                clip_grad_value_(params, 1.0)
                amp_scaler.unscale_(opt)
                amp_scaler.step(opt)
                amp_scaler.update()
            """,
            lines=(5,),
            fixed="""
            import torch
            def train_step(x):
                opt.zero_grad()
                amp_scaler.scale(f(x)).backward()
                amp_scaler.unscale_(opt)
                clip_grad_value_(params, 1.0)
                amp_scaler.step(opt)
                amp_scaler.update()
            """,
            unsafe=True,
        ),
        # Two models clipped before one step: one unscale, on the first.
        Invalid(
            """
            import torch
            for x in data:
                opt.zero_grad()
                scaler.scale(f(x)).backward()
                clip_grad_norm_(encoder.parameters(), 1.0)
                clip_grad_norm_(decoder.parameters(), 1.0)
                scaler.step(opt)
                scaler.update()
            """,
            lines=(5, 6),
            fixed="""
            import torch
            for x in data:
                opt.zero_grad()
                scaler.scale(f(x)).backward()
                scaler.unscale_(opt)
                clip_grad_norm_(encoder.parameters(), 1.0)
                clip_grad_norm_(decoder.parameters(), 1.0)
                scaler.step(opt)
                scaler.update()
            """,
            unsafe=True,
        ),
    )

    def __init__(self, context: FileContext) -> None:
        super().__init__(context)
        self.clips: list[cst.Call] = []

    def visit_Call(self, node: cst.Call) -> None:
        # torch's own clipping only: a framework's `x.clip_grad_norm_()` may unscale first.
        if is_clip(node) and (isinstance(node.func, cst.Name) or self.context.imports.qualified(node.func)):
            self.clips.append(node)

    def finish(self) -> None:
        if ".scale(" not in self.context.source:
            return
        iterations: dict[cst.CSTNode, Iteration] = {}
        fixed_steps: set[cst.CSTNode] = set()
        for clip in self.clips:
            iteration = iteration_of(self.context, clip, iterations)
            if iteration is None:
                continue
            previous, following = iteration.around(clip)
            if previous is None or previous.event.kind is not EventKind.BACKWARD:
                continue  # a misplaced clip is AGL016's; unscaling before a backward would break the step
            scaler = scaler_of(previous.event)
            if scaler is None:
                continue
            code = self.context.tree.code
            optimizer = self._stepped_by(code(scaler), following)
            position = iteration.positions[clip]
            if self._unscaled(iteration, previous.position, position, optimizer):
                continue
            fix = None
            if optimizer is not None and following is not None and following.anchor not in fixed_steps:
                fix = self._unscale_first(iteration, clip, code(scaler), optimizer, following.position)
                if fix is not None:
                    fixed_steps.add(following.anchor)
            message = self.message.format(
                clip=terminal_name(clip.func), scaler=code(scaler), optimizer=optimizer or "optimizer"
            )
            self.report(clip, message, fix)

    def _unscaled(self, iteration: Iteration, backward: int, clip: int, optimizer: str | None) -> bool:
        code = self.context.tree.code
        for call in iteration.calls_between(backward, clip, "unscale_"):
            argument = code(call.args[0].value) if call.args else None
            if optimizer is None or argument is None or argument == optimizer:
                return True
        return False

    def _unscale_first(
        self, iteration: Iteration, clip: cst.Call, scaler: str, optimizer: str, step: int
    ) -> PendingFix | None:
        tree = self.context.tree
        statement = tree.statement_of(clip)
        if not isinstance(statement, cst.SimpleStatementLine):
            return None
        line = f"{scaler}.unscale_({optimizer})"
        unscales = iteration.calls_between(-1, len(iteration.positions), "unscale_")
        if not unscales:
            return PendingFix(f"Call `{line}` before clipping", "unsafe", (InsertStatement(statement, (line,)),))
        later = [u for u in unscales if iteration.positions[clip] < iteration.positions[u] < step]
        if len(unscales) != 1 or not later:
            return None
        moved = tree.statement_of(later[0])
        if not isinstance(moved, cst.SimpleStatementLine) or len(moved.body) != 1:
            return None
        if tree.parent(moved) is not tree.parent(statement):
            return None
        edits = (RemoveStatement(moved), InsertStatement(statement, (tree.code(moved.body[0]),)))
        return PendingFix("Unscale before clipping", "unsafe", edits)

    def _stepped_by(self, scaler: str, following: Placed | None) -> str | None:
        """The optimizer that ``scaler.step(optimizer)`` right after the clip steps."""
        if following is None or following.event.kind is not EventKind.STEP:
            return None
        node = following.event.node
        if not isinstance(node, cst.Call) or not isinstance(node.func, cst.Attribute) or not node.args:
            return None
        code = self.context.tree.code
        return code(node.args[0].value) if code(node.func.value) == scaler else None
