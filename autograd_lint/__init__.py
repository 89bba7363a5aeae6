"""autograd-lint: finds the PyTorch autograd mistakes that raise no error."""

from .config import Config
from .engine import SourceError, check_source
from .finding import Edit, Finding, Fix

__version__ = "0.1.0"
__all__ = ["Config", "Edit", "Finding", "Fix", "SourceError", "check_source", "__version__"]
