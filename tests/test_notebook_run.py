"""``autograd-lint run notebook.ipynb``: the cells in order, one namespace, under watch()."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograd_lint.notebook import read_notebook
from autograd_lint.notebook_run import _masking_translator, run_notebook
from tests.conftest import FIXTURES, autograd_lint_process

pytest.importorskip("torch")
QUESTION = FIXTURES / "notebooks" / "question.ipynb"


def test_the_question_notebook_runs_and_the_monitor_names_the_loop_cell(tmp_path: Path):
    notebook = tmp_path / "question.ipynb"
    shutil.copy(QUESTION, notebook)
    run = run_notebook(read_notebook(str(notebook), notebook.read_bytes()))
    assert not run.script_failed
    assert sorted((f.code, f.cell, f.line) for f in run.findings) == [("AGL001", 7, 2), ("AGL002", 7, 2)]
    assert all(f.path == str(notebook) for f in run.findings)


def test_a_cell_that_raises_stops_the_run_with_its_traceback(tmp_path: Path, capsys):
    path = tmp_path / "nb.ipynb"
    cells = [new_markdown_cell("m"), new_code_cell("x = 1"), new_code_cell("y = 1 / 0"), new_code_cell("z = 3")]
    nbformat.write(new_notebook(cells=cells), str(path))
    run = run_notebook(read_notebook(str(path), path.read_bytes()))
    assert run.script_failed and run.exit_status == 1
    assert "z" not in run.namespace and run.namespace["x"] == 1
    error = capsys.readouterr().err
    assert f'File "{path}:cell 3", line 1' in error and "ZeroDivisionError" in error


def test_without_ipython_magics_are_skipped_with_a_note():
    notes: list[str] = []
    translate = _masking_translator(notes)
    assert translate(2, "%matplotlib inline\nfiles = !ls\nx = 1", "nb.ipynb") == "pass\nfiles = None\nx = 1"
    assert translate(3, "%%bash\necho hi", "nb.ipynb") is None
    assert notes == [
        "nb.ipynb:cell 2:1: note: skipped `%matplotlib inline` (IPython is not installed)",
        "nb.ipynb:cell 2:2: note: skipped `!ls` (IPython is not installed)",
        "nb.ipynb:cell 3: note: skipped a `%%bash` cell (IPython is not installed)",
    ]


@pytest.mark.slow
def test_run_command_reports_findings_at_cells(tmp_path: Path):
    notebook = tmp_path / "question.ipynb"
    shutil.copy(QUESTION, notebook)
    result = autograd_lint_process("run", "--format", "json", str(notebook))
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stderr[result.stderr.index("[") :])
    assert {(item["cell"], item["line"], item["code"]) for item in report} == {(7, 2, "AGL001"), (7, 2, "AGL002")}
    text = autograd_lint_process("run", str(notebook))
    assert f"{notebook}:cell 7:2:5: AGL001 [stale-graph]" in text.stderr
    assert "    distance.backward(retain_graph=True)" in text.stderr
