"""autograd-lint: finds the PyTorch autograd mistakes that raise no error."""

from pathlib import Path as _Path

from .config import Config
from .engine import SourceError, check_source
from .finding import Edit, Finding, Fix

__version__ = "0.1.0"

# The wheel installs runtime/ as autograd_lint/runtime/. In a source checkout it sits beside
# this folder, and a checkout on sys.path (pytest run from the repository root, as tox does
# after a plain install) would otherwise shadow the installed package and lose it.
_checkout = _Path(__file__).resolve().parent.parent
if (_checkout / "runtime" / "__init__.py").is_file() and (_checkout / "pyproject.toml").is_file():
    __path__.append(str(_checkout))
__all__ = ["Config", "Edit", "Finding", "Fix", "SourceError", "check_source", "__version__"]
