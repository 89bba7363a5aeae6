from __future__ import annotations

from typing import ClassVar

from ..fixes import PendingFix, Replace, TextRange
from ..lines import LineIndex
from ..noqa import Directive, SuppressionUsage, selects
from ..rule import Invalid, Rule


class UnusedNoqa(Rule):
    """
    ## What it does
    Flags a `# noqa` comment that suppresses no finding. That is a code in `# noqa: AGL002`
    whose rule ran and reported nothing on that line, a code that names no rule
    (`# noqa: AGL099`), or a bare `# noqa` that suppressed nothing. Off by default, like
    ruff's RUF100: turn it on with `--extend-select AGL900` (or `extend-select = ["AGL900"]`);
    `select = ["AGL"]` and `ALL` leave it off.

    ## Why is this bad?
    A suppression outlives the code it was written for. Once the loop is fixed, a leftover
    `# noqa: AGL002` silently hides the next real mistake on that line, and a mistyped code
    never suppressed anything at all.

    ## Example
    ```python
    for x, y in loader:
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()  # noqa: AGL002
        optimizer.step()
    ```

    ## Use instead
    ```python
    for x, y in loader:
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
    ```

    ## Known false positives
    A bare `# noqa` meant for another tool (flake8, ruff) is reported when it suppresses no
    autograd-lint finding; give that tool's codes (`# noqa: E501`), which are left alone.
    Codes of rules that are switched off for the file (by `ignore` or `per-file-ignores`)
    are not judged, nor are the runtime monitor's (`AGL1xx`). Only files autograd-lint checks (those that mention torch) are reviewed,
    and a comment naming AGL900 itself is kept.

    ## Fix safety
    Safe: the fix removes only the unused codes, or the whole comment when nothing else is
    left in it; comments are not code.
    """

    code: ClassVar[str] = "AGL900"
    name: ClassVar[str] = "unused-noqa"
    message: ClassVar[str] = "unused `noqa` directive"
    fix_safety = frozenset({"safe"})
    triggers = ("noqa", "NOQA", "NoQA")
    default_off = True

    VALID = (
        # Another tool's codes are not ours to judge.
        """
        import torch
        x = torch.ones(1)  # noqa: E501
        """,
        # AGL002 did not run (only AGL900 is selected here): its code is not judged.
        """
        import torch
        x = torch.ones(1)  # noqa: AGL002
        """,
        """
        import torch
        x = torch.ones(1)  # noqa: AGL900
        """,
        """
        import torch
        x = torch.ones(1)  # noqa: AGL101
        """,
        # Inside a string it is no comment.
        """
        import torch
        x = "# noqa"
        """,
    )
    INVALID = (
        Invalid(
            """
            import torch
            x = torch.ones(1)  # noqa
            """,
            lines=(2,),
            fixed="""
            import torch
            x = torch.ones(1)
            """,
        ),
        Invalid(
            """
            import torch
            x = torch.ones(1)  # noqa: AGL099, E501
            """,
            lines=(2,),
            fixed="""
            import torch
            x = torch.ones(1)  # noqa: E501
            """,
        ),
        Invalid(
            """
            import torch
            x = torch.ones(1)  # noqa: AGL099  # the reason
            """,
            lines=(2,),
            fixed="""
            import torch
            x = torch.ones(1)  # the reason
            """,
        ),
        Invalid(
            """
            import torch
            if x:
                # noqa
                y = torch.ones(1)
            """,
            lines=(3,),
            fixed="""
            import torch
            if x:
                y = torch.ones(1)
            """,
        ),
    )

    def review_suppressions(self, usage: SuppressionUsage) -> None:
        lines: LineIndex | None = None
        for directive in usage.directives:
            codes = directive.codes
            if codes is not None and any(selects(c, self.code, self.name) for c in codes):
                continue  # kept on purpose
            used = usage.used(directive)
            if codes is None:
                unused: list[str] = [] if used else ["*"]
            else:
                unused = [c for c in codes if c not in used and usage.judgeable(c)]
            if not unused:
                continue
            lines = lines or LineIndex(self.context.source)
            self._report(directive, unused, lines, usage)

    def _report(self, directive: Directive, unused: list[str], lines: LineIndex, usage: SuppressionUsage) -> None:
        comment = directive.comment
        comment_start = lines.line_start(comment.line) + comment.column
        where = TextRange(comment_start + directive.start, comment_start + directive.end)
        if directive.codes is None:
            message = "unused blanket `noqa` directive: it suppresses no finding"
        else:
            unknown = [c for c in unused if not any(selects(c, code, name) for code, name in usage.enabled)]
            parts = []
            if len(unknown) < len(unused):
                parts.append("unused: " + ", ".join(f"`{c}`" for c in unused if c not in unknown))
            if unknown:
                parts.append("no such rule: " + ", ".join(f"`{c}`" for c in unknown))
            message = f"unused `noqa` directive ({'; '.join(parts)})"
        kept = [c for c in directive.codes or () if c not in unused]
        self.report(where, message, self._fix(directive, kept, comment_start, lines))

    def _fix(self, directive: Directive, kept: list[str], comment_start: int, lines: LineIndex) -> PendingFix:
        text = directive.comment.text
        comment = TextRange(comment_start, comment_start + len(text))
        if kept:
            rewritten = text[: directive.start] + "# noqa: " + ", ".join(kept) + text[directive.end :]
            return PendingFix("Remove the unused codes", "safe", (Replace(comment, rewritten),))
        rest = (text[: directive.start] + text[directive.end :]).strip()
        if rest and rest != "#":
            rewritten = rest if rest.startswith("#") else "# " + rest
            return PendingFix("Remove the unused `noqa` directive", "safe", (Replace(comment, rewritten),))
        source = self.context.source
        line_start = lines.line_start(directive.line)
        before = source[line_start:comment_start]
        if not before.strip():  # a comment alone on its line: the line goes
            whole_line = TextRange(line_start, lines.line_end(directive.line))
            return PendingFix("Remove the unused `noqa` comment", "safe", (Replace(whole_line, ""),))
        start = line_start + len(before.rstrip())
        return PendingFix("Remove the unused `noqa` comment", "safe", (Replace(TextRange(start, comment.end), ""),))
