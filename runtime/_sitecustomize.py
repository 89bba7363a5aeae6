"""Copied as ``sitecustomize.py`` onto the ``PYTHONPATH`` of the processes ``autograd-lint run`` starts.

Python imports it at startup, before the child's own code. It waits for ``import torch`` (a child
that never imports torch pays nothing, not even autograd-lint's import), then starts watching
through ``autograd_lint.runtime._launch``. Self-contained, since it runs as a top-level module;
a ``sitecustomize`` it hides (Debian's, a virtualenv's) is run after it.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from types import ModuleType


def _start_watching() -> None:
    try:
        from autograd_lint.runtime import _launch
    except ImportError:
        return  # a child on another interpreter, without autograd-lint: nothing to watch with
    try:
        _launch.watch_this_child()
    except Exception as error:  # noqa: BLE001 - the child's own work must go on
        print(f"autograd-lint: error: cannot watch process {os.getpid()}: {error}", file=sys.stderr)


class _WatchOnceTorchIsImported(importlib.abc.MetaPathFinder):
    def find_spec(self, name: str, path: object = None, target: object = None) -> importlib.machinery.ModuleSpec | None:
        if name != "torch":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        loader = spec.loader if spec else None
        if loader is not None and hasattr(loader, "exec_module"):
            run_torch_init = loader.exec_module

            def exec_then_watch(module: ModuleType) -> None:
                run_torch_init(module)
                del loader.exec_module  # back to the class's own
                _start_watching()

            loader.exec_module = exec_then_watch  # type: ignore[method-assign]
        return spec


def _run_hidden_sitecustomize() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    others = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", others)
    if spec is not None and spec.loader is not None:
        spec.loader.exec_module(importlib.util.module_from_spec(spec))


if "torch" in sys.modules:  # imported by a .pth file before us
    _start_watching()
else:
    sys.meta_path.insert(0, _WatchOnceTorchIsImported())
_run_hidden_sitecustomize()
