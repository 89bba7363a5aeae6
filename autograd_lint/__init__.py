"""autograd-lint: finds the PyTorch autograd mistakes that raise no error."""

from ._layout import expose_runtime_folder
from .config import Config
from .engine import SourceError, check_source
from .finding import Edit, Finding, Fix

__version__ = "0.1.0"

expose_runtime_folder()
__all__ = ["Config", "Edit", "Finding", "Fix", "SourceError", "__version__", "check_source"]
