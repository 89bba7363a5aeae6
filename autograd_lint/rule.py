"""The base class every rule in ``autograd_lint/rules/`` derives from."""

from __future__ import annotations

import inspect
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, ClassVar

import libcst as cst

from .catalog import fix_label
from .doc_sections import RULE_SECTIONS, parse_doc_sections, summary
from .finding import Applicability
from .fixes import PendingFix, TextRange

if TYPE_CHECKING:
    from .context import FileContext
    from .noqa import SuppressionUsage

DOC_SECTIONS = RULE_SECTIONS
__all__ = ["DOC_SECTIONS", "Invalid", "Report", "Rule", "parse_doc_sections"]


@dataclass(frozen=True)
class Report:
    """What a rule said during one check, before positions and suppressions are applied."""

    node: cst.CSTNode | TextRange  # a range of text for what is no node (a comment's part)
    message: str
    fix: PendingFix | None


@dataclass(frozen=True)
class Invalid:
    """An example the rule must report, at exactly ``lines``.

    ``fixed`` is the source after the rule's fixes (``unsafe`` ones included when
    ``unsafe`` is true); ``None`` means the rule offers no fix for this example.
    """

    code: str
    lines: tuple[int, ...]
    fixed: str | None = None
    unsafe: bool = False


class Rule:
    """A check over one file. Subclasses define ``visit_<Node>`` / ``leave_<Node>`` methods named
    after libcst node classes and an optional ``finish``. The engine calls them in source order
    once the file's facts are complete, so ``self.context`` answers every question in full."""

    code: ClassVar[str]
    name: ClassVar[str]
    message: ClassVar[str]
    # The kinds of fix this rule may offer; each fix states its own (``PendingFix.applicability``).
    fix_safety: ClassVar[frozenset[Applicability]] = frozenset()
    # Words one of which the text must contain for the rule to fire (a cheap pre-check).
    triggers: ClassVar[tuple[str, ...]] = ()
    # Off unless selected by its exact code or name (``select = ["AGL"]`` leaves it off), as
    # ruff does with RUF100: a report about the suppressions rather than about the code.
    default_off: ClassVar[bool] = False
    VALID: ClassVar[Sequence[str]] = ()
    INVALID: ClassVar[Sequence[Invalid]] = ()

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        # Examples are written as indented triple-quoted blocks; the rule sees them as files.
        if "VALID" in vars(cls):
            cls.VALID = tuple(example_source(code) for code in cls.VALID)
        if "INVALID" in vars(cls):
            cls.INVALID = tuple(
                replace(e, code=example_source(e.code), fixed=None if e.fixed is None else example_source(e.fixed))
                for e in cls.INVALID
            )

    def __init__(self, context: FileContext) -> None:
        self.context = context
        self.reports: list[Report] = []

    def report(
        self,
        node: cst.CSTNode | TextRange,
        message: str | None = None,
        fix: PendingFix | None = None,
    ) -> None:
        self.reports.append(Report(node, message or self.message, fix))

    def finish(self) -> None:
        """Called once after the visits, for rules that decide over the whole file."""

    def review_suppressions(self, usage: SuppressionUsage) -> None:
        """Called once the other rules' findings have met the file's ``# noqa`` comments, for a
        rule about the comments themselves; what it reports here is not suppressed again."""

    @classmethod
    def docs(cls) -> dict[str, str]:
        """The rule's documentation, split into its fixed sections."""
        return parse_doc_sections(inspect.getdoc(cls) or "")

    @classmethod
    def fix_label(cls) -> str:
        """``safe``, ``unsafe``, ``safe/unsafe`` (it depends on the shape) or ``""`` (no fix)."""
        return fix_label(cls.fix_safety)

    @classmethod
    def summary(cls) -> str:
        """The first sentence of "What it does", for tables and listings."""
        return summary(cls.docs())


def example_source(block: str) -> str:
    """The file an example stands for. Examples are triple-quoted blocks indented with the code
    around them: dedented, and without the newline after the opening quotes, so that line 1 is
    the first line of the block."""
    text = textwrap.dedent(block)
    return text[1:] if text.startswith("\n") else text
