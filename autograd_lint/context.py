"""What a rule is handed: the parsed file and its shared analysis, each part under its own name.

``tree`` (navigation), ``imports`` (which names are torch), ``torch`` (what calls mean),
``facts`` (file-wide facts) and ``events`` (autograd events per loop). The last two exist only
once the facts walk is over; asking for them earlier raises ``IncompleteFactsError``.
"""

from __future__ import annotations

import libcst as cst

from .events import LoopEvents
from .facts import FileFacts, IncompleteFactsError
from .imports import ImportTable
from .semantics import TorchSemantics
from .tree import SyntaxTree


class FileContext:
    def __init__(self, module: cst.Module, source: str, path: str, torch: TorchSemantics) -> None:
        self.module = module
        self.source = source
        self.path = path
        self.torch = torch
        self.tree: SyntaxTree = torch.tree
        self.imports: ImportTable = torch.imports
        self._events: LoopEvents | None = None

    @property
    def facts(self) -> FileFacts:
        return self.torch.facts

    @property
    def events(self) -> LoopEvents:
        if self._events is None:
            self._events = LoopEvents(self.tree, self.torch, self.facts)
        return self._events

    def seal(self, facts: FileFacts) -> None:
        """The facts walk is over: fact-dependent questions may be asked from now on."""
        self.torch.seal(facts)


__all__ = ["FileContext", "IncompleteFactsError"]
