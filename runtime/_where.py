"""Where in the user's code something happened, and what the user calls a tensor."""

from __future__ import annotations

import inspect
import linecache
import os
import sys
from types import FrameType
from typing import NamedTuple

import torch

import autograd_lint

_TORCH_DIR = os.path.dirname(torch.__file__) + os.sep
_PACKAGE_DIRS = (
    os.path.dirname(autograd_lint.__file__) + os.sep,
    os.path.dirname(__file__) + os.sep,  # runtime/ is installed apart from autograd_lint/
)
# The demo is user code that happens to ship inside the package: its lines are the ones to show.
_USER_CODE_IN_PACKAGE = frozenset({os.path.join(os.path.dirname(__file__), "demo.py")})


def _is_library(filename: str) -> bool:
    if filename.startswith(_TORCH_DIR):
        return True
    return filename.startswith(_PACKAGE_DIRS) and filename not in _USER_CODE_IN_PACKAGE


def user_frame() -> FrameType | None:
    """The innermost frame outside torch and autograd_lint: the line the user wrote."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None and _is_library(frame.f_code.co_filename):
        frame = frame.f_back
    return frame


class Place(NamedTuple):
    """A line of user code, with what ``warnings.warn_explicit`` needs to treat it as ``warn`` would."""

    path: str
    line: int
    module: str | None = None
    registry: dict | None = None

    def seen_from(self, other: Place) -> str:
        """How to name this line in a message about ``other``: just the number when in the same file."""
        if self.path == other.path:
            return f"line {self.line}"
        return f"{os.path.basename(self.path)}:{self.line}"


UNKNOWN_PLACE = Place("<unknown>", 1)


def place_of(frame: FrameType | None) -> Place:
    if frame is None:
        return UNKNOWN_PLACE
    module_globals = frame.f_globals
    return Place(
        frame.f_code.co_filename,
        frame.f_lineno,
        module_globals.get("__name__"),
        # Keeping the registry, not the globals: the globals would keep the user's tensors alive.
        module_globals.setdefault("__warningregistry__", {}),
    )


def line_extent(path: str, line: int) -> tuple[int, int]:
    """1-based start column and exclusive end column of the statement text on ``line``."""
    text = linecache.getline(path, line).rstrip()
    if not text:
        return 1, 1
    return len(text) - len(text.lstrip()) + 1, len(text) + 1


# Before Python 3.13 a function frame's f_locals is a snapshot dict cached on the frame: whatever it
# holds stays alive after the function deletes or rebinds the variable, until the next snapshot.
_LOCALS_ARE_SNAPSHOTS = sys.version_info < (3, 13)


def scopes(frame: FrameType | None) -> list[dict]:
    """The frame's locals then globals, read without leaving a snapshot that keeps tensors alive."""
    if frame is None:
        return []
    if frame.f_code.co_flags & inspect.CO_OPTIMIZED:
        snapshot = frame.f_locals
        local_names = dict(snapshot)
        if _LOCALS_ARE_SNAPSHOTS:
            snapshot.clear()  # every later f_locals read (a debugger's, locals()) refills it
        return [local_names, frame.f_globals]
    return [frame.f_locals] if frame.f_locals is frame.f_globals else [frame.f_locals, frame.f_globals]


def name_in_frame(obj: object, frame: FrameType | None) -> str | None:
    """The name the user's code gives ``obj``: a variable, or an attribute path into a module."""
    namespaces = scopes(frame)
    for scope in namespaces:
        for name, value in scope.items():
            if value is obj:
                return name
    for scope in namespaces:
        for name, value in list(scope.items()):
            if isinstance(value, torch.nn.Module):
                found = _name_inside(obj, value)
                if found is not None:
                    return f"{name}.{found}" if found else name
    return None


def parameter_names(frame: FrameType | None) -> dict[int, tuple[str, torch.Tensor]]:
    """``id(p) -> ("model.fc1.weight", p)`` for the parameters of every module the frame names."""
    names: dict[int, tuple[str, torch.Tensor]] = {}
    for scope in reversed(scopes(frame)):  # locals last: the nearer name wins
        for var, value in list(scope.items()):
            if isinstance(value, torch.nn.Module):
                for param_name, param in value.named_parameters():
                    names[id(param)] = (f"{var}.{param_name}", param)
    return names


def _name_inside(obj: object, module: torch.nn.Module) -> str | None:
    if isinstance(obj, torch.nn.Module):
        for sub_name, sub in module.named_modules():
            if sub is obj:
                return sub_name
    elif isinstance(obj, torch.Tensor):
        for param_name, param in module.named_parameters():
            if param is obj:
                return param_name
    return None


def describe(tensor: torch.Tensor) -> str:
    return f"a tensor of shape {tuple(tensor.shape)}"
