"""The README's editor set-up, tried in the real editor where it is installed (skipped elsewhere)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from textwrap import dedent

import pytest

NEOVIM_SCRIPT = Path(__file__).resolve().parent / "editors" / "neovim.lua"


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("nvim") is None, reason="needs Neovim (apt-get install neovim)")
def test_neovim_shows_the_diagnostics_and_offers_the_fixes(tmp_path: Path):
    script = tmp_path / "train.py"
    script.write_text(
        dedent(
            """\
            import torch

            model = torch.nn.Linear(3, 1)
            optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
            for batch in torch.randn(10, 3):
                loss = model(batch).sum()
                loss.backward()
                optimizer.step()
            """
        )
    )
    result = subprocess.run(
        ["nvim", "--headless", "-u", "NONE", "-c", f"luafile {NEOVIM_SCRIPT}", str(script)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env={**os.environ, "AUTOGRAD_LINT_PYTHON": sys.executable},
    )
    # Neovim writes :print to stderr in headless mode, lines ending in \r\n or \r.
    lines = [line.strip() for line in (result.stderr + result.stdout).replace("\r", "\n").splitlines() if line.strip()]
    assert result.returncode == 0, lines
    assert lines[0].startswith("diagnostic 7:5 AGL002 gradients are never cleared"), lines
    assert "action Fix AGL002: Clear gradients with `optimizer.zero_grad()` (unsafe)" in lines
    assert "action Add `# noqa: AGL002`" in lines
