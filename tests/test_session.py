"""The session check reads only part of the history; it must find what checking it all finds."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest

from autograd_lint.engine import check_source
from autograd_lint.ipython_syntax import mask_cell, python_error
from autograd_lint.notebook import read_notebook
from autograd_lint.session import SessionChecker
from tests.conftest import FIXTURES

NOTEBOOKS = sorted((FIXTURES / "notebooks").glob("*.ipynb"))


def whole_prefix(history: list[str], cell: str) -> list[tuple[str, int, int, str]]:
    """The findings in ``cell`` when the history and the cell are checked as one module."""
    texts = [m.text for m in map(mask_cell, history) if m is not None and python_error(m.text) is None]
    prefix = "".join(t if t.endswith("\n") or not t else t + "\n" for t in texts)
    offset = prefix.count("\n") + 1
    findings = check_source(prefix + "#\n" + mask_cell(cell).text, "<session>")
    return sorted((f.code, f.line - offset, f.column, f.message) for f in findings if f.line > offset)


def sliced(history: list[str], cell: str) -> list[tuple[str, int, int, str]]:
    checker = SessionChecker()
    for source in history:
        checker.add(source)
    return sorted((f.code, f.line, f.column, f.message) for f in checker.check(cell))


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_cell_of_the_fixtures_finds_what_the_whole_prefix_finds(notebook: Path):
    cells = [c.source for c in read_notebook(str(notebook), notebook.read_bytes()).code_cells]
    for index, cell in enumerate(cells):
        masked = mask_cell(cell)
        if masked is not None and python_error(masked.text) is None:
            assert sliced(cells[:index], cell) == whole_prefix(cells[:index], cell)


SESSION = [
    "import torch\nfrom torch import nn",
    "model = nn.Linear(3, 1)\noptimizer = torch.optim.SGD(model.parameters(), lr=0.1)",
    "x = torch.randn(8, 3)\nw = torch.zeros(3, requires_grad=True)",
    "loss = model(x).pow(2).mean()",
    "def step():\n    optimizer.step()",
    "for name in ['a', 'b']:\n    print(name)",
    "w.requires_grad_()",
]
NEW_CELLS = [
    "for i in range(3):\n    loss.backward()\n    step()",  # AGL001, through a function of the history
    "for i in range(3):\n    out = model(x).sum()\n    out.backward()\n    optimizer.step()",  # AGL002
    "for i in range(3):\n    (w * x).sum().backward()\n    w.data -= 0.1 * w.grad.data",
    "for i in range(3):\n    optimizer.zero_grad()\n    loss = model(x).sum()\n    loss.backward()\n    optimizer.step()",
]


@pytest.mark.parametrize("cell", NEW_CELLS)
def test_names_from_functions_mutations_and_older_cells_reach_the_new_cell(cell: str):
    assert sliced(SESSION, cell) == whole_prefix(SESSION, cell)


def test_a_long_session_is_read_as_a_short_slice():
    checker = SessionChecker()
    checker.add("import torch")
    for k in range(200):
        checker.add(f"w{k} = torch.zeros(3, requires_grad=True)\nfor i in range(2):\n    print(w{k}.sum())")
    checker.add("distance = (w7 * 2).sum()")
    cell = "for i in range(3):\n    distance.backward()\n    with torch.no_grad():\n        w7 -= w7.grad"
    history = checker.relevant_history(checker.summary(cell))
    assert history == dedent(
        """\
        import torch
        w7 = torch.zeros(3, requires_grad=True)
        for i in range(2):
            print(w7.sum())
        distance = (w7 * 2).sum()
        """
    )
    assert {f.code for f in checker.check(cell)} == {"AGL001", "AGL002"}
