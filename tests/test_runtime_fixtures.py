"""Each script in fixtures/runtime/ yields exactly the findings in its .expected file."""

from __future__ import annotations

import runpy
import warnings
from pathlib import Path

import pytest

pytest.importorskip("torch")
from autograd_lint.runtime import ALL_CHECKS, watch  # noqa: E402

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "runtime"
SCRIPTS = sorted(FIXTURES.glob("*.py"))


def expected_findings(script: Path) -> list[tuple[int, str]]:
    text = script.with_suffix(".expected").read_text()
    return sorted((int(line), code) for line, code in (row.split() for row in text.splitlines() if row.strip()))


def test_the_fixtures_cover_every_runtime_check_and_the_silent_loops() -> None:
    codes = {code for script in SCRIPTS for _, code in expected_findings(script)}
    assert codes == {check.code for check in ALL_CHECKS}
    silent = {s.stem for s in SCRIPTS if not expected_findings(s)}
    assert {
        "standard_loop",
        "gradient_accumulation",
        "dcgan",
        "lbfgs_closure",
        "two_losses_retain_graph",
        "manual_sgd",
        "checkpointing",
    } <= silent


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.stem for s in SCRIPTS])
def test_fixture_yields_exactly_its_expected_findings(script: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning from torch itself would mean the fixture is wrong
        with watch(on_finding="collect") as monitor:
            runpy.run_path(str(script), run_name="__main__")
    assert sorted((f.line, f.code) for f in monitor.findings) == expected_findings(script)
    assert {f.path for f in monitor.findings} <= {str(script)}
