"""``SyntaxTree.walk`` reads walks off the pre-order the facts walk recorded; it must yield what
``syntax.walk`` yields, node for node, from every node, into functions or not."""

from __future__ import annotations

import textwrap
from pathlib import Path

import libcst as cst
import pytest

from autograd_lint.engine import analyse
from autograd_lint.registry import all_rules
from autograd_lint.syntax import names_bound_in, names_in, walk

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
NESTED = textwrap.dedent(
    """\
    import torch

    class Trainer:
        def fit(self, loader, scale=lambda x: x * 2):
            def closure():
                loss = model(x).sum()
                loss.backward()
                return loss
            for x in loader:
                f = lambda: [y for y in x]
                class Local:
                    def go(self):
                        return self.grad
                opt.step(closure)
            with torch.no_grad() as ctx:
                del x.grad
    """
)
SOURCES = {
    "nested scopes": NESTED,
    **{p.name: p.read_text(encoding="utf-8") for p in sorted((FIXTURES / "mistakes").glob("*.py"))[:8]},
}


@pytest.mark.parametrize("source", SOURCES.values(), ids=SOURCES.keys())
def test_recorded_walk_is_the_walk(source):
    context, _ = analyse(cst.parse_module(source), source, "x.py", list(all_rules()))
    tree = context.tree
    assert tree.order[0] is context.module and len(tree.index) == len(tree.order)
    for node in tree.order:
        for into_functions in (False, True):
            assert list(tree.walk(node, into_functions)) == list(walk(node, into_functions))
        assert tree.names_in(node) == names_in(node)
        assert tree.names_bound_in(node) == names_bound_in(node)


def test_a_node_the_facts_walk_did_not_see_is_walked_too():
    source = "x = f(a, b)\n"
    context, _ = analyse(cst.parse_module(source), source, "x.py", [])
    built = cst.parse_expression("g(c, lambda: d)")
    assert list(context.tree.walk(built)) == list(walk(built))
