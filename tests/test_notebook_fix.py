"""Fixes in notebooks: only the changed cells' sources change, byte for byte everything else; the
fixed question notebook converges when its cells run; a second fix changes nothing."""

from __future__ import annotations

import difflib
import json
import shutil
from pathlib import Path
from textwrap import dedent

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from autograd_lint.notebook import read_notebook
from tests.conftest import FIXTURES, cli

QUESTION = FIXTURES / "notebooks" / "question.ipynb"
TARGET = [1.0, 2.0, 3.0, 4.0, 5.0]


def sources(path: Path) -> list[str]:
    return [cell.source for cell in nbformat.read(str(path), as_version=4).cells]


def without_sources(path: Path) -> list[dict]:
    document = json.loads(path.read_text(encoding="utf-8"))
    return [{k: v for k, v in cell.items() if k != "source"} for cell in document["cells"]] + [
        {k: v for k, v in document.items() if k != "cells"}
    ]


@pytest.fixture
def fixed_question(in_tmp: Path) -> Path:
    notebook = in_tmp / "question.ipynb"
    shutil.copy(QUESTION, notebook)
    result = cli("--no-color", "--fix", "--unsafe-fixes", "question.ipynb")
    assert result.exit_code == 1, result.stdout + result.stderr  # the dtype alias is left
    return notebook


def test_fixed_question_notebook_is_valid_and_keeps_everything_but_sources(fixed_question: Path):
    nbformat.validate(nbformat.read(str(fixed_question), as_version=4))
    assert without_sources(fixed_question) == without_sources(QUESTION)  # outputs, counts, ids, metadata
    before, after = sources(QUESTION), sources(fixed_question)
    assert [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b] == [1, 3, 4, 6]
    assert after[6] == dedent(
        """\
        for i in range(1000):
            x.grad = None
            distance = torch.mean(torch.pow((x - target), 2))
            distance.backward()
            x_grad = x.grad
            with torch.no_grad():
                x.sub_(x_grad * 0.01)
            history.append(distance.item())"""
    )
    # The loss moved from the cell that built it into the loop's cell.
    assert after[4] == "history = []"
    assert after[1].startswith("%matplotlib inline\n")  # the magic is put back as it was


def test_only_the_changed_source_lines_differ_in_the_file(fixed_question: Path):
    before = QUESTION.read_text(encoding="utf-8").splitlines(keepends=True)
    after = fixed_question.read_text(encoding="utf-8").splitlines(keepends=True)
    changed = [line for line in difflib.ndiff(before, after) if line[:1] in "+-"]
    assert changed and all(line[2:].startswith('    "') for line in changed)  # source lines only
    assert fixed_question.read_bytes().endswith(QUESTION.read_bytes()[-40:])  # the same ending, final newline


def test_fixing_again_changes_nothing(fixed_question: Path):
    before = fixed_question.read_bytes()
    result = cli("--fix", "--unsafe-fixes", "question.ipynb")
    assert result.exit_code == 1
    assert fixed_question.read_bytes() == before


def test_fixed_question_notebook_converges_when_its_cells_run(fixed_question: Path):
    torch = pytest.importorskip("torch")
    from autograd_lint.notebook_run import run_notebook

    torch.manual_seed(0)
    run = run_notebook(read_notebook(str(fixed_question), fixed_question.read_bytes()))
    assert not run.script_failed and run.findings == []  # and the monitor finds nothing either
    history = run.namespace["history"]
    assert len(history) == 1000
    assert all(later < earlier for earlier, later in zip(history, history[1:], strict=False))
    assert torch.allclose(run.namespace["x"].detach(), torch.tensor(TARGET), atol=0.1)


def test_a_notebook_without_changes_is_written_back_identical(in_tmp: Path):
    shutil.copy(FIXTURES / "notebooks" / "correct_training.ipynb", "nb.ipynb")
    before = Path("nb.ipynb").read_bytes()
    assert cli("--fix", "--unsafe-fixes", "nb.ipynb").exit_code == 0
    assert Path("nb.ipynb").read_bytes() == before
    notebook = read_notebook("nb.ipynb", before)
    assert notebook.with_sources({c.number: c.source for c in notebook.cells}).encode() == before


def test_layouts_other_than_nbformats_are_kept(in_tmp: Path):
    """A notebook written with another indentation, sources as one string, no final newline."""
    document = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"z": 1, "a": 2},
        "cells": [
            {"cell_type": "markdown", "id": "m", "metadata": {}, "source": "héllo"},
            {
                "cell_type": "code",
                "id": "c",
                "metadata": {},
                "execution_count": 3,
                "outputs": [],
                "source": "import torch\nx = torch.autograd.Variable(torch.ones(1))\n",
            },
        ],
    }
    text = json.dumps(document, indent=4, ensure_ascii=False)
    Path("nb.ipynb").write_text(text, encoding="utf-8")
    assert cli("--fix", "nb.ipynb").exit_code == 0
    fixed = Path("nb.ipynb").read_text(encoding="utf-8")
    expected = json.loads(text)
    expected["cells"][1]["source"] = "import torch\nx = torch.ones(1)\n"
    assert fixed == json.dumps(expected, indent=4, ensure_ascii=False)


def test_diff_shows_each_changed_cell_and_writes_nothing(in_tmp: Path):
    shutil.copy(QUESTION, "question.ipynb")
    before = Path("question.ipynb").read_bytes()
    result = cli("--diff", "question.ipynb")
    assert result.exit_code == 1
    assert Path("question.ipynb").read_bytes() == before
    assert "--- a/question.ipynb:cell 4\n+++ b/question.ipynb:cell 4\n" in result.stdout
    assert "+x = torch.rand(5).type(dtype).detach().requires_grad_()\n" in result.stdout
    assert "No newline at end of file" not in result.stdout


def test_outputs_of_the_changed_cell_stay(in_tmp: Path):
    cell = new_code_cell("import torch\nx = torch.autograd.Variable(torch.ones(1))\nprint(x)", execution_count=7)
    cell.outputs = [new_output("stream", name="stdout", text="tensor([1.])\n")]
    nbformat.write(new_notebook(cells=[new_markdown_cell("m"), cell]), "nb.ipynb")
    assert cli("--fix", "nb.ipynb").exit_code == 0
    fixed = nbformat.read("nb.ipynb", as_version=4).cells[1]
    assert fixed.source == "import torch\nx = torch.ones(1)\nprint(x)"
    assert fixed.execution_count == 7 and fixed.outputs[0]["text"] == "tensor([1.])\n"


def test_stdin_fix_of_a_notebook_writes_the_fixed_notebook(in_tmp: Path):
    result = cli("--fix", "--stdin-filename", "q.ipynb", "-", input=QUESTION.read_bytes())
    fixed = nbformat.reads(result.stdout, as_version=4)
    assert "Variable" not in fixed.cells[3].source


# A notebook's fix is written as a Python file's is: never over an edit made meanwhile, never
# through a link out of the checked tree, under every name of a hard-linked file.

VARIABLE_NOTEBOOK = new_notebook(cells=[new_code_cell("import torch\nx = torch.autograd.Variable(torch.ones(1))")])


def test_a_notebook_saved_while_it_was_being_fixed_is_left_alone(in_tmp: Path):
    from autograd_lint.config import Config
    from autograd_lint.pipeline import Mode, check_notebook_data
    from autograd_lint.sources import read_source

    nbformat.write(VARIABLE_NOTEBOOK, "nb.ipynb")
    source = read_source("nb.ipynb")
    edited = new_notebook(cells=[*VARIABLE_NOTEBOOK.cells, new_code_cell("print(x)")])
    nbformat.write(edited, "nb.ipynb")  # the user saves in Jupyter while the fix is computed
    saved = Path("nb.ipynb").read_bytes()
    outcome = check_notebook_data(
        "nb.ipynb", source.encode(source.text), Config(), Mode(fix=True), write=True, source=source
    )
    assert outcome.error is not None and outcome.error.endswith("changed on disk since it was read; not fixed")
    assert Path("nb.ipynb").read_bytes() == saved


def test_a_notebook_linked_from_outside_the_tree_is_not_fixed(in_tmp: Path, tmp_path_factory):
    outside = tmp_path_factory.mktemp("elsewhere") / "nb.ipynb"
    nbformat.write(VARIABLE_NOTEBOOK, str(outside))
    before = outside.read_bytes()
    Path("nb.ipynb").symlink_to(outside)
    result = cli("--fix", "nb.ipynb")
    assert result.exit_code == 2
    assert "nb.ipynb: error: is a symlink to a file outside the checked tree; not fixed" in result.stderr
    assert outside.read_bytes() == before and Path("nb.ipynb").is_symlink()


def test_a_hard_linked_notebook_is_fixed_under_both_names(in_tmp: Path):
    nbformat.write(VARIABLE_NOTEBOOK, "nb.ipynb")
    Path("nb.ipynb").chmod(0o640)

    Path("other.ipynb").hardlink_to("nb.ipynb")
    assert cli("--fix", "nb.ipynb").exit_code == 0
    assert Path("other.ipynb").read_bytes() == Path("nb.ipynb").read_bytes()
    assert "Variable" not in Path("other.ipynb").read_text(encoding="utf-8")
    assert Path("nb.ipynb").stat().st_mode & 0o777 == 0o640
