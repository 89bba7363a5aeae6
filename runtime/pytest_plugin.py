"""pytest plugin: ``pytest --autograd-lint`` runs each test under ``watch(on_finding="raise")``.

``@pytest.mark.autograd_lint`` (keyword arguments go to ``watch``) and the ``autograd_lint_watch``
fixture do it for single tests. Loaded in every pytest run where autograd-lint is installed, so
this module imports nothing heavy: torch comes in only when a test asks to be watched.

A test failed by a finding reads like one: the short summary says ``AGL002 at test_x.py:9:
missing-zero-grad: ...``, and its traceback ends at the user's line, not in the monitor or in torch.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from autograd_lint.finding import Finding


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("autograd-lint")
    group.addoption(
        "--autograd-lint",
        action="store_true",
        default=False,
        help="run every test under autograd_lint.runtime.watch(on_finding='raise')",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "autograd_lint(**watch_kwargs): run this test under autograd_lint.runtime.watch(on_finding='raise')",
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    marker = item.get_closest_marker("autograd_lint")
    if marker is None and not item.config.getoption("autograd_lint"):
        return (yield)
    __tracebackhide__ = True
    options: dict[str, Any] = {"on_finding": "raise", **(marker.kwargs if marker else {})}
    from autograd_lint.runtime import watch

    with watch(**options):
        return (yield)


@pytest.fixture
def autograd_lint_watch() -> Iterator[Any]:
    """A ``watch(on_finding="raise")`` around the test; ``.findings`` lists what it saw."""
    __tracebackhide__ = True
    from autograd_lint.runtime import watch

    with watch(on_finding="raise") as monitor:
        yield monitor


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    finding = _finding_that_failed(call)
    if finding is None:
        return (yield)
    assert call.excinfo is not None
    if not item.config.getoption("fulltrace"):
        _end_at_the_users_line(call.excinfo, finding)
    report = yield
    crash = getattr(report.longrepr, "reprcrash", None)  # what the short summary and --tb=line show
    if crash is not None:
        where = f"{_shown_path(finding.path, item.config)}:{finding.line}"
        # The place first: the summary is cut to the terminal's width.
        crash.message = f"{finding.code} at {where}: {finding.name}: {finding.message}"
        crash.path, crash.lineno = finding.path, finding.line
    return report


def _finding_that_failed(call: pytest.CallInfo[None]) -> Finding | None:
    if call.excinfo is None:
        return None
    from autograd_lint.runtime import AutogradLintError  # no torch: the categories only

    error = call.excinfo.value
    return error.finding if isinstance(error, AutogradLintError) else None


def _end_at_the_users_line(excinfo: pytest.ExceptionInfo[BaseException], finding: Finding) -> None:
    """Drops the frames below the user's call: torch's backward and the monitor that raised."""
    users: TracebackType | None = None
    tb: TracebackType | None = excinfo.tb
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == finding.path and tb.tb_lineno == finding.line:
            users = tb
        tb = tb.tb_next
    if users is not None:
        users.tb_next = None
        excinfo.traceback = excinfo.traceback.cut()  # rebuilt from the shortened chain


def _shown_path(path: str, config: pytest.Config) -> str:
    relative = os.path.relpath(path, config.invocation_params.dir)
    return path if relative.startswith(os.pardir) else relative
