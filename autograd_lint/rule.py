"""The base class every rule in ``autograd_lint/rules/`` derives from."""

from __future__ import annotations

import inspect
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import libcst as cst

from .finding import Applicability

if TYPE_CHECKING:
    from .context import FileContext, PendingFix

DOC_SECTIONS = ("What it does", "Why is this bad?", "Example", "Use instead", "Known false positives")


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
    """A check over one file. Subclasses define ``visit_<Node>`` / ``leave_<Node>``
    methods named after libcst node classes; the engine calls them during its single
    walk over the tree, with ``self.context`` holding the shared analysis."""

    code: ClassVar[str]
    name: ClassVar[str]
    message: ClassVar[str]
    fix_applicability: ClassVar[Applicability | None] = None
    # Words one of which the text must contain for the rule to fire (a cheap pre-check).
    triggers: ClassVar[tuple[str, ...]] = ()
    VALID: ClassVar[Sequence[str]] = ()
    INVALID: ClassVar[Sequence[Invalid]] = ()

    def __init__(self, context: FileContext) -> None:
        self.context = context

    def report(
        self,
        node: cst.CSTNode,
        message: str | None = None,
        fix: PendingFix | None = None,
    ) -> None:
        self.context.report(self, node, message or self.message, fix)

    def finish(self) -> None:
        """Called once after the walk, for rules that decide at the end of the file."""

    @classmethod
    def docs(cls) -> dict[str, str]:
        """The rule's documentation, split into its fixed sections."""
        return parse_doc_sections(inspect.getdoc(cls) or "")

    @classmethod
    def summary(cls) -> str:
        """The first sentence of "What it does", for tables and listings."""
        paragraph = " ".join(cls.docs().get("What it does", "").strip().split("\n\n")[0].split())
        return re.split(r"(?<=[.!?])\s+(?=[A-Z`])", paragraph, maxsplit=1)[0]


_HEADING = re.compile(r"^## (.+?)\s*$", re.MULTILINE)


def parse_doc_sections(doc: str) -> dict[str, str]:
    sections: dict[str, str] = {}
    matches = list(_HEADING.finditer(doc))
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(doc)
        sections[match.group(1)] = doc[match.end() : end].strip("\n")
    return sections
