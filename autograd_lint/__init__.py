"""autograd-lint: finds the PyTorch autograd mistakes that raise no error."""

from ._layout import expose_runtime_folder
from .config import Config
from .engine import SourceError, check_source
from .finding import Edit, Finding, Fix

__version__ = "0.1.0"

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
