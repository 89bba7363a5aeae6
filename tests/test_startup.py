"""What a command imports: libcst (about 150 ms) only when some file may have a finding."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

PROBE = (
    "import atexit, sys\n"
    "atexit.register(lambda: print('libcst' in sys.modules, 'torch' in sys.modules, file=sys.stderr))\n"
    "from autograd_lint.cli import main\n"
    "main({args!r})\n"
)


def imports(args: list[str], cwd: Path) -> tuple[bool, bool]:
    completed = subprocess.run(
        [sys.executable, "-c", PROBE.format(args=args)], cwd=cwd, capture_output=True, text=True, timeout=120
    )
    libcst, torch = completed.stderr.split()[-2:]
    return libcst == "True", torch == "True"


@pytest.mark.slow
@pytest.mark.parametrize(
    "args", [["--version"], ["-V"], ["--help"], ["check", "--help"], ["rules"], ["explain", "AGL002"]]
)
def test_the_quick_commands_import_neither_libcst_nor_torch(tmp_path: Path, args: list[str]):
    assert imports(args, tmp_path) == (False, False)


@pytest.mark.slow
def test_a_check_imports_libcst_only_for_a_file_that_passes_the_pre_check(tmp_path: Path):
    (tmp_path / "plain.py").write_text("import numpy\nx = numpy.ones(3)\n")
    (tmp_path / "quiet.py").write_text("import torch\nx = torch.ones(3)\n")  # no rule's word in it
    (tmp_path / "loop.py").write_text("import torch\nfor x in data:\n    loss(x).backward()\n")
    assert imports(["--no-cache", "plain.py", "quiet.py"], tmp_path) == (False, False)
    assert imports(["--no-cache", "loop.py"], tmp_path) == (True, False)
    # Checked once, an unchanged file comes from the cache: no parse, no libcst.
    assert imports(["loop.py"], tmp_path) == (True, False)
    assert imports(["loop.py"], tmp_path) == (False, False)
