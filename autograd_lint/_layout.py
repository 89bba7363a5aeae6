"""The one mapping the fixed repository layout needs: ``runtime/`` imported as ``autograd_lint.runtime``.

An installed wheel holds ``autograd_lint/runtime/``, and an editable install maps it through
setuptools' own finder. A source checkout on ``sys.path`` (pytest from the repository root, or
tox after a plain install) shadows both, and would lose the runtime. Then, and only for that
one name, a finder points ``autograd_lint.runtime`` at the checkout's ``runtime/`` folder:
nothing else of the checkout (tests, benchmarks, fixtures) becomes part of the package.
"""

from __future__ import annotations

import os
import sys

NAME = "autograd_lint.runtime"
# os.path, not pathlib, and no importlib.abc: this runs on every start, `--version` included.
_CHECKOUT = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
_FOLDER = os.path.join(_CHECKOUT, "runtime")


class _RuntimeFolder:
    """A meta path finder (the protocol is the one method)."""

    def find_spec(self, fullname, path, target=None):
        if fullname != NAME:
            return None
        import importlib.util

        return importlib.util.spec_from_file_location(
            NAME, os.path.join(_FOLDER, "__init__.py"), submodule_search_locations=[_FOLDER]
        )


def expose_runtime_folder() -> None:
    in_checkout = os.path.isfile(os.path.join(_FOLDER, "__init__.py")) and os.path.isfile(
        os.path.join(_CHECKOUT, "pyproject.toml")
    )
    if not in_checkout or any(isinstance(f, _RuntimeFolder) for f in sys.meta_path):
        return
    # Last, so an editable install's own mapping (or an installed package) answers first.
    sys.meta_path.append(_RuntimeFolder())
