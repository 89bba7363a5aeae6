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


# Asked a few times per training step, about the same handful of files: a dict answers faster
# than two prefix tests.
_library_files: dict[str, bool] = {}


def user_frame() -> FrameType | None:
    """The innermost frame outside torch and autograd_lint: the line the user wrote."""
    frame: FrameType | None = sys._getframe(1)
    known = _library_files
    while frame is not None:
        filename = frame.f_code.co_filename
        library = known.get(filename)
        if library is None:
            library = known[filename] = _is_library(filename)
        if not library:
            return frame
        frame = frame.f_back
    return None


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
    # Keeping the registry, not the globals: the globals would keep the user's tensors alive.
    registry = module_globals.get("__warningregistry__")
    if registry is None:
        registry = module_globals["__warningregistry__"] = {}
    return Place(frame.f_code.co_filename, frame.f_lineno, module_globals.get("__name__"), registry)


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
    """``id(p) -> ("model.fc1.weight", p)`` for the parameters of every module the frame names.

    Also those of modules kept in a plain list or dict attribute (``self.layers = [nn.Linear(...)]``),
    which ``named_parameters`` does not see: those are the ones an optimizer misses.
    """
    names: dict[int, tuple[str, torch.Tensor]] = {}
    for scope in reversed(scopes(frame)):  # locals last: the nearer name wins
        for var, value in list(scope.items()):
            if isinstance(value, torch.nn.Module):
                in_module: dict[int, tuple[str, torch.Tensor]] = {}
                for module_name, module in _named_modules_with_hidden(value, var):
                    for param_name, param in module.named_parameters(recurse=False):
                        in_module.setdefault(id(param), (f"{module_name}.{param_name}", param))
                names.update(in_module)
    return names


def _named_modules_with_hidden(root: torch.nn.Module, prefix: str) -> list[tuple[str, torch.nn.Module]]:
    found: list[tuple[str, torch.nn.Module]] = []
    seen: set[int] = set()
    stack = [(prefix, root)]
    while stack:
        name, module = stack.pop()
        if id(module) in seen:
            continue
        seen.add(id(module))
        found.append((name, module))
        for child_name, child in module.named_children():
            stack.append((f"{name}.{child_name}", child))
        for attr, value in vars(module).items():
            if attr.startswith("_"):  # _modules, _parameters: named_children covers them
                continue
            items = (
                value.items()
                if isinstance(value, dict)
                else enumerate(value)
                if isinstance(value, (list, tuple))
                else ()
            )
            for key, item in items:
                if isinstance(item, torch.nn.Module):
                    stack.append((f"{name}.{attr}[{key!r}]", item))
    return found


def module_tensor_attributes(frame: FrameType | None) -> list[tuple[str, torch.Tensor]]:
    """Plain tensor attributes (not parameters or buffers) of the modules the frame names:
    ``self.log_k = torch.zeros(1, requires_grad=True).to(device)`` lands there."""
    found: list[tuple[str, torch.Tensor]] = []
    for scope in scopes(frame):
        for var, value in list(scope.items()):
            if isinstance(value, torch.nn.Module):
                for module_name, module in _named_modules_with_hidden(value, var):
                    for attr, item in vars(module).items():
                        if isinstance(item, torch.Tensor):
                            found.append((f"{module_name}.{attr}", item))
    return found


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
