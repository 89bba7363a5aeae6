"""The file-wide facts every rule reads, and the guard that keeps rules from reading them early.

The facts walk (``collect.py``) fills a ``FactsBuilder``; only when the whole file has been seen
does it become ``FileFacts``. Code that asks a fact-dependent question before then gets
``IncompleteFactsError``: an answer from half a file would let one rule hide another.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from .tree import Loop


class IncompleteFactsError(RuntimeError):
    """A question about the file was asked before its facts were complete: a bug in a rule or
    in the engine, never the user's."""


@dataclass
class FactsBuilder:
    """What the facts walk has seen so far; mutable, never handed to rules."""

    # A class of the file's own with a backward() (micrograd-style): then `.backward()`,
    # `.data` and `.grad` may not be torch's, and only torch-made names count as tensors.
    own_autograd: bool = False
    loops: list[Loop] = field(default_factory=list)
    functions: dict[str, list[cst.FunctionDef]] = field(default_factory=dict)
    # Names (dotted text) that the file shows to be tensors, optimizers, or gradients.
    tensor_names: set[str] = field(default_factory=set)
    torch_made_names: set[str] = field(default_factory=set)  # assigned from a torch call
    requires_grad_names: set[str] = field(default_factory=set)
    grad_aliases: set[str] = field(default_factory=set)
    grad_owners: dict[str, str] = field(default_factory=dict)  # `g = w.grad`: g -> w
    optimizer_names: set[str] = field(default_factory=set)
    backward_targets: set[str] = field(default_factory=set)
    # Callees every same-file call of which sits lexically under `with torch.no_grad()`.
    no_grad_callees: set[str] = field(default_factory=set)
    # Names bound to an instance of another library's class or of a plain class of this file
    # (micrograd's `Value`, a dataclass): their `.data` and `.grad` are not a tensor's.
    foreign_names: set[str] = field(default_factory=set)
    backward_calls: list[cst.Call] = field(default_factory=list)
    calls_by_name: dict[str, list[cst.Call]] = field(default_factory=dict)  # callee name -> calls

    def build(self) -> FileFacts:
        return FileFacts(
            own_autograd=self.own_autograd,
            loops=tuple(self.loops),
            functions={name: tuple(defs) for name, defs in self.functions.items()},
            tensor_names=frozenset(self.tensor_names),
            torch_made_names=frozenset(self.torch_made_names),
            requires_grad_names=frozenset(self.requires_grad_names),
            grad_aliases=frozenset(self.grad_aliases),
            grad_owners=dict(self.grad_owners),
            optimizer_names=frozenset(self.optimizer_names),
            backward_targets=frozenset(self.backward_targets),
            no_grad_callees=frozenset(self.no_grad_callees),
            foreign_names=frozenset(self.foreign_names),
            backward_calls=tuple(self.backward_calls),
            calls_by_name={name: tuple(calls) for name, calls in self.calls_by_name.items()},
        )


@dataclass(frozen=True)
class FileFacts:
    """The complete facts of one file; see ``FactsBuilder`` for what each field holds."""

    own_autograd: bool
    loops: tuple[Loop, ...]
    functions: dict[str, tuple[cst.FunctionDef, ...]]
    tensor_names: frozenset[str]
    torch_made_names: frozenset[str]
    requires_grad_names: frozenset[str]
    grad_aliases: frozenset[str]
    grad_owners: dict[str, str]
    optimizer_names: frozenset[str]
    backward_targets: frozenset[str]
    no_grad_callees: frozenset[str]
    foreign_names: frozenset[str]
    backward_calls: tuple[cst.Call, ...]
    calls_by_name: dict[str, tuple[cst.Call, ...]]


class Sealed:
    """Holds ``FileFacts`` once they exist; reading them before raises ``IncompleteFactsError``."""

    def __init__(self) -> None:
        self._facts: FileFacts | None = None

    def seal(self, facts: FileFacts) -> None:
        self._facts = facts

    @property
    def facts(self) -> FileFacts:
        facts = self._facts
        if facts is None:
            raise IncompleteFactsError("the file's facts were asked for before the facts walk finished")
        return facts
