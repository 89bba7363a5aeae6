"""Small context managers that change one piece of torch and put it back on exit.

Each saves exactly what it replaces, so nested monitors chain: the inner one wraps whatever the
outer one installed, and unwinding restores each layer in turn.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import torch
import torch.optim.optimizer as _optimizer_module


class patched_tensor_data:
    """Calls ``on_get(tensor, alias)`` after each ``tensor.data`` read and ``on_set(tensor)`` after each write.

    ``.data`` hands out an alias with its own version counter, so in-place updates through it are
    invisible to autograd; watching the alias is the only way to see them.
    """

    def __init__(self, on_get: Callable[[torch.Tensor, torch.Tensor], None], on_set: Callable[[torch.Tensor], None]):
        self.on_get = on_get
        self.on_set = on_set

    def __enter__(self) -> None:
        self.had_own = "data" in torch.Tensor.__dict__
        self.saved = torch.Tensor.__dict__.get("data")
        descriptor = inspect.getattr_static(torch.Tensor, "data")
        read, write = descriptor.__get__, descriptor.__set__
        on_get, on_set = self.on_get, self.on_set

        def get_data(tensor: torch.Tensor) -> torch.Tensor:
            alias = read(tensor)
            if tensor.requires_grad:
                on_get(tensor, alias)
            return alias

        def set_data(tensor: torch.Tensor, value: torch.Tensor) -> None:
            write(tensor, value)
            if tensor.requires_grad:
                on_set(tensor)

        torch.Tensor.data = property(get_data, set_data, doc=descriptor.__doc__)  # type: ignore[assignment]

    def __exit__(self, *exc_info: object) -> None:
        if self.had_own:
            torch.Tensor.data = self.saved  # type: ignore[assignment]
        else:
            del torch.Tensor.data


class patched_function:
    """Replaces ``owner.name`` with ``wrap(original)``; the wrapper keeps the original's name and docs."""

    def __init__(self, owner: Any, name: str, wrap: Callable[[Callable[..., Any]], Callable[..., Any]]):
        self.owner = owner
        self.name = name
        self.wrap = wrap

    def __enter__(self) -> None:
        self.saved = getattr(self.owner, self.name)
        setattr(self.owner, self.name, functools.wraps(self.saved)(self.wrap(self.saved)))

    def __exit__(self, *exc_info: object) -> None:
        setattr(self.owner, self.name, self.saved)


_register_pre = getattr(_optimizer_module, "register_optimizer_step_pre_hook", None)
_register_post = getattr(_optimizer_module, "register_optimizer_step_post_hook", None)
HAS_OPTIMIZER_HOOKS = _register_pre is not None and _register_post is not None


class optimizer_step_hooks:
    """Global hooks around every ``Optimizer.step`` (fused ones included: they bump no version counter)."""

    def __init__(self, pre: Callable[..., None], post: Callable[..., None]):
        self.pre = pre
        self.post = post
        self.handles: list[Any] = []

    def __enter__(self) -> None:
        if HAS_OPTIMIZER_HOOKS:
            self.handles = [_register_pre(self.pre), _register_post(self.post)]  # type: ignore[misc]

    def __exit__(self, *exc_info: object) -> None:
        for handle in self.handles:
            handle.remove()
        self.handles = []


_TorchFunctionMode: type | None = getattr(torch.overrides, "TorchFunctionMode", None)
HAS_TORCH_FUNCTION_MODE = _TorchFunctionMode is not None


def recording_mode(on_call: Callable[[Any, tuple, dict, Any], None]) -> Any:
    """A TorchFunctionMode that reports every torch call and its result to ``on_call``."""

    class _Recording(_TorchFunctionMode):  # type: ignore[misc, valid-type]
        def __torch_function__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
            kwargs = kwargs or {}
            result = func(*args, **kwargs)
            on_call(func, args, kwargs, result)
            return result

    return _Recording()
