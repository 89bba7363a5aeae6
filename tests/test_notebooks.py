"""Notebooks checked and fixed from the command line: positions at cells, IPython syntax masked,
rewrites that touch only the changed cells' sources. Notebooks are built with nbformat, as Jupyter
writes them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from textwrap import dedent

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograd_lint.config import Config
from autograd_lint.notebook import read_notebook
from autograd_lint.notebook_check import check_notebook
from tests.conftest import FIXTURES, cli, read_notebook_expected

NOTEBOOKS = sorted((FIXTURES / "notebooks").glob("*.ipynb"))
QUESTION = FIXTURES / "notebooks" / "question.ipynb"


def write_notebook(path: Path, *cells, **metadata) -> Path:
    notebook = new_notebook(cells=list(cells), metadata=metadata)
    nbformat.write(notebook, str(path))
    return path


def code(text: str):
    return new_code_cell(dedent(text).strip("\n"))


# --- the fixtures --------------------------------------------------------------------------------


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_fixture_reports_exactly_what_is_expected(notebook: Path):
    findings, errors = check_notebook(read_notebook(str(notebook), notebook.read_bytes()), Config())
    found = [(f.cell, f.line, f.code) for f in findings] + [(e.cell, 0, "error") for e in errors]
    assert sorted(found, key=str) == read_notebook_expected(notebook)


def test_every_notebook_fixture_has_expectations():
    assert len(NOTEBOOKS) >= 6 and all(p.with_suffix(".expected").is_file() for p in NOTEBOOKS)


def test_every_notebook_fixture_is_a_valid_notebook():
    for notebook in NOTEBOOKS:
        nbformat.validate(nbformat.read(str(notebook), as_version=4))


# --- the question, split across cells: text and JSON ------------------------------------------------


def test_question_notebook_in_text_names_cells_and_cell_lines(in_tmp: Path):
    shutil.copy(QUESTION, "question.ipynb")
    result = cli("--no-color", "question.ipynb")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert "question.ipynb:cell 7:2:5: AGL001 [stale-graph] `distance` is computed once before the loop" in "\n".join(
        lines
    )
    assert any(line.startswith("question.ipynb:cell 7:2:5: AGL002 [missing-zero-grad]") for line in lines)
    assert any(line.startswith("question.ipynb:cell 7:4:5: AGL004 [data-attribute]") for line in lines)
    assert any(line.startswith("question.ipynb:cell 4:1:5: AGL003 [*] [deprecated-variable]") for line in lines)
    # The source line under each finding is the cell's line.
    assert lines[lines.index(next(li for li in lines if "cell 7:2:5: AGL001" in li)) + 1] == (
        "    distance.backward(retain_graph=True)"
    )


def test_question_notebook_in_json_carries_the_cell(in_tmp: Path):
    shutil.copy(QUESTION, "question.ipynb")
    items = json.loads(cli("--format", "json", "question.ipynb").stdout)
    stale = next(item for item in items if item["code"] == "AGL001")
    assert (stale["path"], stale["cell"], stale["line"], stale["column"]) == ("question.ipynb", 7, 2, 5)
    assert {(i["cell"], i["code"]) for i in items} >= {(7, "AGL001"), (7, "AGL002"), (7, "AGL004"), (4, "AGL003")}
    fixable = next(item for item in items if item["code"] == "AGL003" and item["cell"] == 4)
    edit = fixable["fix"]["edits"][0]
    assert edit["cell"] == 4 and edit["location"] == {"line": 1, "column": 5}


def test_json_cell_is_null_for_python_files(in_tmp: Path):
    Path("a.py").write_text("import torch\nx = torch.autograd.Variable(torch.ones(1))\n")
    assert json.loads(cli("--format", "json", "a.py").stdout)[0]["cell"] is None


def test_sarif_and_github_point_at_the_notebook_and_name_the_cell(in_tmp: Path):
    shutil.copy(QUESTION, "question.ipynb")
    sarif = json.loads(cli("--format", "sarif", "question.ipynb").stdout)
    result = next(r for r in sarif["runs"][0]["results"] if r["ruleId"] == "AGL001")
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "question.ipynb"
    assert "region" not in location  # the cell's lines are not the JSON file's lines
    assert result["message"]["text"].startswith("cell 7, line 2, column 5: `distance` is computed once")
    github = cli("--format", "github", "question.ipynb").stdout.splitlines()
    assert any(
        line.startswith("::error file=question.ipynb,title=AGL001 stale-graph::cell 7, line 2, column 5: ")
        for line in github
    )


# --- masking, errors, suppressions -----------------------------------------------------------------


def test_a_cell_that_is_not_python_is_one_error_line_and_the_rest_is_checked(in_tmp: Path):
    write_notebook(
        in_tmp / "nb.ipynb",
        new_markdown_cell("# old"),
        code("import torch"),
        code('print "loss", loss'),
        code("x = torch.autograd.Variable(torch.ones(1))"),
    )
    result = cli("--no-color", "nb.ipynb")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "nb.ipynb:cell 3: error: syntax error: Missing parentheses in call to 'print'. "
        "Did you mean print(...)? (line 1, column 1)"
    ]
    assert "nb.ipynb:cell 4:1:5: AGL003" in result.stdout
    assert "All checks passed!" not in result.stdout


def test_facts_flow_across_cells_and_magics_do_not_stop_them(in_tmp: Path):
    write_notebook(
        in_tmp / "nb.ipynb",
        code(
            """
            %load_ext autoreload
            !pip list | grep torch
            import torch
            w = torch.zeros(3, requires_grad=True)
            """
        ),
        code("files = !ls\ntorch.zeros?\nloss = (w * 2).sum()"),
        code(
            """
            %%time
            for step in range(10):
                loss.backward()
                %time print(step)
                with torch.no_grad():
                    w -= 0.1 * w.grad
            """
        ),
    )
    items = json.loads(cli("--format", "json", "nb.ipynb").stdout)
    assert sorted((i["cell"], i["line"], i["code"]) for i in items) == [(3, 3, "AGL001"), (3, 3, "AGL002")]


def test_noqa_on_a_cell_line_and_skip_file_in_any_cell(in_tmp: Path):
    write_notebook(
        in_tmp / "nb.ipynb",
        code("import torch\nfrom torch.autograd import Variable  # noqa: AGL003"),
        code("x = Variable(torch.ones(1))"),
    )
    items = json.loads(cli("--format", "json", "nb.ipynb").stdout)
    assert [(i["cell"], i["line"]) for i in items] == [(2, 1)]
    write_notebook(
        in_tmp / "skipped.ipynb",
        code("import torch\nx = torch.autograd.Variable(torch.ones(1))"),
        new_markdown_cell("notes"),
        code("# autograd-lint: skip-file"),
    )
    assert cli("skipped.ipynb").exit_code == 0


def test_a_notebook_in_another_language_is_not_checked(in_tmp: Path):
    write_notebook(in_tmp / "r.ipynb", code("library(torch)\nx <- 1"), language_info={"name": "R"})
    assert cli("-q", "r.ipynb").exit_code == 0


# --- files: discovery and what is not a notebook ---------------------------------------------------------


def test_folders_include_notebooks_and_skip_checkpoints(in_tmp: Path):
    (in_tmp / "nbs" / ".ipynb_checkpoints").mkdir(parents=True)
    shutil.copy(QUESTION, in_tmp / "nbs" / "question.ipynb")
    shutil.copy(QUESTION, in_tmp / "nbs" / ".ipynb_checkpoints" / "question-checkpoint.ipynb")
    paths = {item["path"] for item in json.loads(cli("--format", "json", "nbs").stdout)}
    assert paths == {"nbs/question.ipynb"}


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "broken.ipynb",
            '{"cells": [',
            "broken.ipynb: error: not a readable notebook: invalid JSON at line 1 column 12: Expecting value",
        ),
        ("list.ipynb", "[1, 2]", "list.ipynb: error: not a readable notebook: no cells in the JSON"),
        ("data.json", '{"a": 1}', "data.json: error: neither Python nor a notebook (it holds JSON)"),
        (
            "old.ipynb",
            '{"nbformat": 2, "cells": []}',
            "old.ipynb: error: not a readable notebook: unsupported nbformat 2",
        ),
    ],
)
def test_a_file_that_is_neither_python_nor_a_notebook_is_one_error_line(in_tmp: Path, name, content, message):
    Path(name).write_text(content)
    result = cli("--no-color", name)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [message]
    assert "All checks passed!" not in result.stdout


def test_a_notebook_under_another_name_is_read_as_a_notebook(in_tmp: Path):
    shutil.copy(QUESTION, in_tmp / "question.json")
    assert "question.json:cell 7:2:5: AGL001" in cli("--no-color", "question.json").stdout


def test_nbformat_3_is_read_through_nbformat(in_tmp: Path):
    v3 = nbformat.v3.new_notebook(
        worksheets=[
            nbformat.v3.new_worksheet(
                cells=[
                    nbformat.v3.new_heading_cell("Old"),
                    nbformat.v3.new_code_cell(input="import torch\nx = torch.autograd.Variable(torch.ones(1))"),
                ]
            )
        ]
    )
    Path("old.ipynb").write_text(nbformat.writes(v3, version=3))
    result = cli("--no-color", "old.ipynb")
    assert "old.ipynb:cell 2:2:5: AGL003" in result.stdout
    assert result.exit_code == 1
    fixed = cli("--no-color", "--fix", "old.ipynb")
    assert fixed.exit_code == 2
    assert "cannot fix an nbformat 3 notebook in place" in fixed.stderr


def test_stdin_with_a_notebook_name_is_a_notebook(in_tmp: Path):
    result = cli("--format", "json", "--stdin-filename", "q.ipynb", "-", input=QUESTION.read_bytes())
    assert {i["cell"] for i in json.loads(result.stdout)} == {2, 4, 7}
