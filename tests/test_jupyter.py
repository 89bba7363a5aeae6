"""The Jupyter extension in a real IPython shell, and end to end in a real Jupyter kernel."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from IPython.core.interactiveshell import InteractiveShell
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from traitlets.config import Config

pytest.importorskip("torch")

SETUP = "import torch\nx = torch.rand(5, requires_grad=True)\ntarget = torch.tensor([1.0, 2, 3, 4, 5])"
LOSS = "distance = torch.mean(torch.pow((x - target), 2))"
LOOP = """\
for i in range(50):
    distance.backward(retain_graph=True)
    with torch.no_grad():
        x -= 0.01 * x.grad"""


@pytest.fixture
def shell(capfd):
    """IPython's own shell, as the terminal and ipykernel drive it; cleared after the test."""
    config = Config()
    config.HistoryManager.enabled = False
    ip = InteractiveShell.instance(config=config)
    capfd.readouterr()
    yield ip
    ip.run_cell("%unload_ext autograd_lint")
    InteractiveShell.clear_instance()


def run(ip: InteractiveShell, capfd, cell: str) -> str:
    """Run one cell; what it printed on stderr (where the extension writes)."""
    ip.run_cell(cell, store_history=True)
    return capfd.readouterr().err


def test_static_findings_show_under_the_loop_cell_once(shell, capfd):
    run(shell, capfd, "%load_ext autograd_lint")
    assert run(shell, capfd, SETUP) == ""
    assert run(shell, capfd, LOSS) == ""
    shown = run(shell, capfd, LOOP)
    assert "autograd-lint: " in shown and " in this cell" in shown
    assert "  line 2:5: AGL001 [stale-graph] `distance` is computed once before the loop" in shown
    assert "  line 2:5: AGL002 [missing-zero-grad]" in shown
    again = run(shell, capfd, LOOP)
    assert " in this cell" not in again  # never the same finding twice


def test_runtime_findings_follow_the_cell_at_its_lines(shell, capfd):
    run(shell, capfd, "%load_ext autograd_lint")
    run(shell, capfd, "%autograd_lint runtime")
    run(shell, capfd, SETUP)
    run(shell, capfd, LOSS)
    shown = run(shell, capfd, LOOP)
    assert " in this cell" not in shown  # static checks are off
    assert "while the cell ran" in shown
    assert "  line 2: AGL001 [stale-graph] backward runs through a graph built before x was updated" in shown
    assert "  line 2: AGL002 [missing-zero-grad]" in shown


def test_the_magic_switches_and_unload_restores_everything(shell, capfd):
    callbacks = {event: list(shell.events.callbacks[event]) for event in ("pre_run_cell", "post_run_cell")}
    import torch

    backward = torch.autograd.backward
    run(shell, capfd, "%load_ext autograd_lint")
    assert "autograd_lint" in shell.magics_manager.magics["line"]
    shell.run_cell("%autograd_lint off")
    assert "autograd-lint: off" in capfd.readouterr().out
    run(shell, capfd, SETUP)
    run(shell, capfd, LOSS)
    assert run(shell, capfd, LOOP) == ""
    shell.run_cell("%autograd_lint on")
    assert "autograd-lint: static and runtime" in capfd.readouterr().out
    shell.run_cell("%autograd_lint sideways")
    assert "usage: %autograd_lint on|off|static|runtime" in capfd.readouterr().out
    run(shell, capfd, "%unload_ext autograd_lint")
    assert "autograd_lint" not in shell.magics_manager.magics["line"]
    assert {event: list(shell.events.callbacks[event]) for event in callbacks} == callbacks
    assert torch.autograd.backward is backward  # no watch left behind
    assert run(shell, capfd, LOOP) == ""


def test_cells_run_before_loading_count_as_history(capfd):
    config = Config()
    config.HistoryManager.hist_file = ":memory:"  # a history, as a user's session has, kept in memory
    ip = InteractiveShell.instance(config=config)
    try:
        ip.run_cell(SETUP, store_history=True)
        ip.run_cell(LOSS, store_history=True)
        ip.run_cell("%load_ext autograd_lint", store_history=True)
        capfd.readouterr()
        ip.run_cell(LOOP, store_history=True)
        assert "AGL001 [stale-graph]" in capfd.readouterr().err
    finally:
        ip.run_cell("%unload_ext autograd_lint")
        ip.history_manager.end_session()
        InteractiveShell.clear_instance()


def test_a_cell_that_is_not_python_never_stops_anything(shell, capfd):
    run(shell, capfd, "%load_ext autograd_lint")
    shown = run(shell, capfd, 'print "old"')
    assert "autograd-lint" not in shown  # Python itself says what is wrong
    assert run(shell, capfd, "%%bash\necho hi") == ""


@pytest.mark.slow
def test_loading_is_cheap():
    import subprocess
    import sys

    code = "import sys, autograd_lint; print('autograd_lint.jupyter' in sys.modules, 'torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False"]


@pytest.mark.slow
def test_a_real_kernel_shows_agl001_and_agl002_under_the_loop_cell(tmp_path: Path):
    from nbclient import NotebookClient

    notebook = new_notebook(
        cells=[
            new_code_cell("%load_ext autograd_lint"),
            new_markdown_cell("The question's descent, across cells:"),
            new_code_cell(SETUP),
            new_code_cell(LOSS),
            new_code_cell(LOOP),
            new_code_cell("print(x.detach())"),
        ]
    )
    NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    loop_outputs = "".join(o.get("text", "") for o in notebook.cells[4].outputs if o.output_type == "stream")
    assert "line 2:5: AGL001 [stale-graph]" in loop_outputs
    assert "line 2:5: AGL002 [missing-zero-grad]" in loop_outputs
    assert "while the cell ran" in loop_outputs  # and the monitor saw it happen
    for index in (0, 2, 3, 5):
        assert "autograd-lint" not in "".join(o.get("text", "") for o in notebook.cells[index].outputs)
    nbformat.validate(notebook)
