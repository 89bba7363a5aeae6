"""pytest plugin: ``pytest --autograd-lint`` runs each test under ``watch(on_finding="raise")``.

``@pytest.mark.autograd_lint`` (keyword arguments go to ``watch``) and the ``autograd_lint_watch``
fixture do it for single tests. Loaded in every pytest run where autograd-lint is installed, so
this module imports nothing heavy: torch comes in only when a test asks to be watched.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


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
    options: dict[str, Any] = {"on_finding": "raise", **(marker.kwargs if marker else {})}
    from autograd_lint.runtime import watch

    with watch(**options):
        return (yield)


@pytest.fixture
def autograd_lint_watch() -> Iterator[Any]:
    """A ``watch(on_finding="raise")`` around the test; ``.findings`` lists what it saw."""
    from autograd_lint.runtime import watch

    with watch(on_finding="raise") as monitor:
        yield monitor
