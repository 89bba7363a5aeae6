"""The core's promises: rules decide on complete facts, so no rule's answer depends on which
rule ran first, and asking for a fact before the facts walk is over raises."""

from __future__ import annotations

import random
import textwrap

import libcst as cst
import pytest

from autograd_lint import Config, check_source
from autograd_lint.context import FileContext
from autograd_lint.engine import run_rules
from autograd_lint.facts import IncompleteFactsError
from autograd_lint.imports import ImportTable
from autograd_lint.registry import all_rules
from autograd_lint.semantics import TorchSemantics
from autograd_lint.tree import SyntaxTree

# With the facts filled during the rules' own walk, AGL010 (asking about the first loop's events
# mid-walk) cached a backprop region without the second loop, and AGL002 vanished from line 11.
TWO_LOOPS = textwrap.dedent(
    """\
    import torch

    w = torch.zeros(3, requires_grad=True)
    for _ in range(3):
        loss = (w * 2).sum()
        loss.backward()
        w = w - 0.1 * w.grad

    for x, y in loader:
        loss = crit(model(x), y)
        loss.backward()
        optimizer.step()
    """
)


def as_pairs(findings) -> list[tuple[int, str]]:
    return [(f.line, f.code) for f in findings]


def test_one_rule_does_not_hide_another():
    assert as_pairs(check_source(TWO_LOOPS, "two_loops.py")) == [(7, "AGL010"), (11, "AGL002")]
    assert as_pairs(check_source(TWO_LOOPS, "two_loops.py", Config(ignore=("AGL010",)))) == [(11, "AGL002")]


SCRIPTS = [TWO_LOOPS] + [rule.INVALID[0].code for rule in all_rules() if rule.INVALID]


@pytest.mark.parametrize("seed", range(8))
def test_findings_do_not_depend_on_the_order_of_the_rules(seed):
    rules = list(all_rules())
    shuffled = rules[:]
    random.Random(seed).shuffle(shuffled)
    for source in SCRIPTS:
        assert run_rules(source, "x.py", shuffled) == run_rules(source, "x.py", rules)


def unsealed_context(source: str) -> FileContext:
    module = cst.parse_module(source)
    return FileContext(module, source, "x.py", TorchSemantics(ImportTable(), SyntaxTree(module)))


def test_asking_a_fact_before_the_facts_walk_is_over_raises():
    context = unsealed_context(TWO_LOOPS)
    loop = context.module.body[2]
    with pytest.raises(IncompleteFactsError):
        context.events.of_loop(loop)
    with pytest.raises(IncompleteFactsError):
        context.torch.is_tensor(cst.Name("w"))
    with pytest.raises(IncompleteFactsError):
        context.torch.in_no_grad(loop)
    with pytest.raises(IncompleteFactsError):
        _ = context.facts.loops
