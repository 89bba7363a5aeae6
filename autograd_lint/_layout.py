"""The one mapping the fixed repository layout needs: ``runtime/`` imported as ``autograd_lint.runtime``.

An installed wheel holds ``autograd_lint/runtime/``, and an editable install maps it through
setuptools' own finder. A source checkout on ``sys.path`` (pytest from the repository root, or
tox after a plain install) shadows both, and would lose the runtime. Then, and only for that
one name, a finder points ``autograd_lint.runtime`` at the checkout's ``runtime/`` folder:
nothing else of the checkout (tests, benchmarks, fixtures) becomes part of the package.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
from pathlib import Path

NAME = "autograd_lint.runtime"
_CHECKOUT = Path(__file__).resolve().parent.parent
_FOLDER = _CHECKOUT / "runtime"


class _RuntimeFolder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path, target=None):
        if fullname != NAME:
            return None
        return importlib.util.spec_from_file_location(
            NAME, _FOLDER / "__init__.py", submodule_search_locations=[str(_FOLDER)]
        )


def expose_runtime_folder() -> None:
    in_checkout = (_FOLDER / "__init__.py").is_file() and (_CHECKOUT / "pyproject.toml").is_file()
    if not in_checkout or any(isinstance(f, _RuntimeFolder) for f in sys.meta_path):
        return
    # Last, so an editable install's own mapping (or an installed package) answers first.
    sys.meta_path.append(_RuntimeFolder())
