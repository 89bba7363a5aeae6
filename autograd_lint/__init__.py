"""autograd-lint: finds the PyTorch autograd mistakes that raise no error.

The public names are imported on first use: ``autograd-lint --version`` and ``rules`` must not
pay for libcst, which the checker needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._layout import expose_runtime_folder

__version__ = "0.2.0"

_PUBLIC = {
    "Config": ".config",
    "Edit": ".finding",
    "Finding": ".finding",
    "Fix": ".finding",
    "SourceError": ".syntax_errors",
    "check_source": ".engine",
}

if TYPE_CHECKING:
    from .config import Config
    from .engine import check_source
    from .finding import Edit, Finding, Fix
    from .syntax_errors import SourceError


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_PUBLIC])


expose_runtime_folder()


def load_ipython_extension(shell: object) -> None:
    """``%load_ext autograd_lint``: check each cell before it runs, watch autograd while it runs."""
    from .jupyter import load  # only in IPython, and only when asked

    load(shell)


def unload_ipython_extension(shell: object) -> None:
    """``%unload_ext autograd_lint``: remove the hooks and the magic."""
    from .jupyter import unload

    unload(shell)


__all__ = ["Config", "Edit", "Finding", "Fix", "SourceError", "__version__", "check_source"]
