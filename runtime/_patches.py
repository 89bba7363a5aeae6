"""The pieces of torch the monitor changes, installed once for all active monitors.

Every entered ``watch`` joins one list; the patches go in when the first joins and come out when
the last leaves, whatever order they leave in (two generators, an ``__exit__`` out of turn), so a
closed monitor never hears another event and torch is left as it was found. Each patch passes
straight through when no monitor is active, and under ``torch.func`` transforms, where the tensors
are functorch wrappers a monitor must not read (``.item()`` inside ``vmap`` raises).
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import Callable, Iterable
from typing import Any

import torch
import torch.optim.optimizer as _optimizer_module

_register_pre = getattr(_optimizer_module, "register_optimizer_step_pre_hook", None)
_register_post = getattr(_optimizer_module, "register_optimizer_step_post_hook", None)
HAS_OPTIMIZER_HOOKS = _register_pre is not None and _register_post is not None
_TorchFunctionMode: Any = getattr(torch.overrides, "TorchFunctionMode", None)
HAS_TORCH_FUNCTION_MODE = _TorchFunctionMode is not None
_transforms_active: Callable[[], bool] = getattr(torch._C, "_are_functorch_transforms_active", lambda: False)
_GradScaler: Any = getattr(getattr(torch.amp, "grad_scaler", None), "GradScaler", None)
_SINGLE_ROOT: tuple[type, ...] = (torch.Tensor,) + tuple(
    t for t in [getattr(torch.autograd.graph, "GradientEdge", None)] if t is not None
)
CLIP_FUNCTIONS = ("clip_grad_norm_", "clip_grad_value_")

active: list[Any] = []  # the entered monitors, oldest first
_strict: list[Any] = []
_installed: contextlib.ExitStack | None = None
_mode: Any = None


def join(monitor: Any) -> None:
    global _installed
    if not active:
        stack = contextlib.ExitStack()
        try:
            _install(stack)
        except BaseException:
            stack.close()
            raise
        _installed = stack
    active.append(monitor)
    if monitor.strict and HAS_TORCH_FUNCTION_MODE:
        if not _strict:
            _push_mode()
        _strict.append(monitor)


def leave(monitor: Any) -> None:
    global _installed
    if monitor in _strict:
        _strict.remove(monitor)
        if not _strict:
            _pop_mode()
    if monitor in active:
        active.remove(monitor)
    if not active and _installed is not None:
        stack, _installed = _installed, None
        stack.close()


def materialized(values: Any) -> Any:
    """A one-shot iterable (a generator of losses) as a tuple, which torch treats the same way:
    the monitor reads it, and torch still gets every item."""
    if isinstance(values, (_SINGLE_ROOT, tuple, list)) or values is None:
        return values
    return tuple(values)


def _bypass() -> bool:
    return not active or _transforms_active()


# -- installing -----------------------------------------------------------------------------------


def _install(stack: contextlib.ExitStack) -> None:
    _patch_tensor_data(stack)
    _patch(stack, torch.autograd, "backward", _wrap_backward)
    _patch(stack, torch.autograd, "grad", _wrap_grad)
    for name in CLIP_FUNCTIONS:
        clip = getattr(torch.nn.utils, name, None)
        if clip is not None:
            wrapped = _patch(stack, torch.nn.utils, name, _wrap_clip)
            clip_module = getattr(torch.nn.utils, "clip_grad", None)
            if getattr(clip_module, name, None) is clip:
                _patch(stack, clip_module, name, functools.partial(_same, wrapped))
    if _GradScaler is not None and hasattr(_GradScaler, "step"):
        _patch(stack, _GradScaler, "step", _wrap_scaler_step)
    if HAS_OPTIMIZER_HOOKS:
        handles = [_register_pre(_before_step), _register_post(_after_step)]  # type: ignore[misc]
        stack.callback(lambda: [handle.remove() for handle in handles])


def _patch(stack: contextlib.ExitStack, owner: Any, name: str, wrap: Callable[[Any], Any]) -> Any:
    saved = owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)
    wrapper = functools.wraps(saved)(wrap(saved))
    setattr(owner, name, wrapper)

    def restore() -> None:
        # Someone who wrapped the patch in turn keeps their wrapper; ours then passes through.
        if (owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)) is wrapper:
            setattr(owner, name, saved)

    stack.callback(restore)
    return wrapper


def _same(wrapper: Any, _original: Any) -> Any:
    return wrapper


def _patch_tensor_data(stack: contextlib.ExitStack) -> None:
    """``.data`` hands out an alias with its own version counter, so in-place updates through it are
    invisible to autograd; watching the alias is the only way to see them."""
    had_own = "data" in torch.Tensor.__dict__
    saved = torch.Tensor.__dict__.get("data")
    descriptor = inspect.getattr_static(torch.Tensor, "data")
    read, write = descriptor.__get__, descriptor.__set__

    def get_data(tensor: torch.Tensor) -> torch.Tensor:
        alias = read(tensor)
        if tensor.requires_grad and not _bypass():
            for monitor in tuple(active):
                monitor._on_data_read(tensor, alias)
        return alias

    def set_data(tensor: torch.Tensor, value: torch.Tensor) -> None:
        write(tensor, value)
        if tensor.requires_grad and not _bypass():
            for monitor in tuple(active):
                monitor._on_data_write(tensor)

    patched = property(get_data, set_data, doc=descriptor.__doc__)
    torch.Tensor.data = patched  # type: ignore[assignment]

    def restore() -> None:
        if torch.Tensor.__dict__.get("data") is patched:
            if had_own:
                torch.Tensor.data = saved  # type: ignore[assignment]
            else:
                del torch.Tensor.data

    stack.callback(restore)


# -- the wrappers -----------------------------------------------------------------------------------


def _wrap_backward(original: Callable[..., Any]) -> Callable[..., Any]:
    def backward(tensors: Any, *args: Any, **kwargs: Any) -> Any:
        if _bypass():
            return original(tensors, *args, **kwargs)
        tensors = materialized(tensors)
        create_graph = bool(kwargs.get("create_graph", args[2] if len(args) > 2 else False))
        tokens = [(m, m._before_backward(tensors, True, create_graph)) for m in tuple(active)]
        result = original(tensors, *args, **kwargs)
        for monitor, token in tokens:
            if token is not None:
                monitor._after_backward(token)
        return result

    return backward


def _wrap_grad(original: Callable[..., Any]) -> Callable[..., Any]:
    def grad(outputs: Any, *args: Any, **kwargs: Any) -> Any:
        if _bypass():
            return original(outputs, *args, **kwargs)
        outputs = materialized(outputs)
        create_graph = bool(kwargs.get("create_graph", args[3] if len(args) > 3 else False))
        for monitor in tuple(active):
            monitor._before_backward(outputs, False, create_graph)
        return original(outputs, *args, **kwargs)

    return grad


def _wrap_clip(original: Callable[..., Any]) -> Callable[..., Any]:
    def clip(*args: Any, **kwargs: Any) -> Any:
        if _bypass():
            return original(*args, **kwargs)
        if args:
            parameters = materialized(args[0])
            args = (parameters, *args[1:])
        else:
            parameters = kwargs["parameters"] = materialized(kwargs.get("parameters"))
        listed = [parameters] if isinstance(parameters, torch.Tensor) else list(parameters or ())
        for monitor in tuple(active):
            monitor._before_clip(listed)
        return original(*args, **kwargs)

    return clip


def _wrap_scaler_step(original: Callable[..., Any]) -> Callable[..., Any]:
    def step(scaler: Any, optimizer: Any, *args: Any, **kwargs: Any) -> Any:
        if not _bypass():
            for monitor in tuple(active):
                monitor._on_scaler_step(scaler, optimizer)
        return original(scaler, optimizer, *args, **kwargs)

    return step


def _before_step(optimizer: Any, args: tuple, kwargs: dict) -> None:
    if not _bypass():
        for monitor in tuple(active):
            monitor._before_step(optimizer, args, kwargs)


def _after_step(optimizer: Any, args: tuple, kwargs: dict) -> None:
    if not _bypass():
        for monitor in tuple(active):
            monitor._after_step(optimizer, args, kwargs)


# -- strict mode ------------------------------------------------------------------------------------


def _push_mode() -> None:
    global _mode

    class _Recording(_TorchFunctionMode):
        """Reports every torch call and its result to the strict monitors."""

        def __torch_function__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            result = func(*args, **kwargs)
            if not _transforms_active():
                for monitor in tuple(_strict):
                    monitor._on_torch_call(func, args, kwargs, result)
            return result

    _mode = _Recording()
    _mode.__enter__()


def _pop_mode() -> None:
    global _mode
    mode, _mode = _mode, None
    if mode is None:
        return
    current = (
        torch.overrides._get_current_function_mode() if hasattr(torch.overrides, "_get_current_function_mode") else mode
    )
    if current is not mode:
        # Popping would take the user's mode off the stack instead of ours.
        raise RuntimeError(
            "watch(...) with tracked tensors was closed while a TorchFunctionMode entered inside it is still "
            "active; close that mode first"
        )
    mode.__exit__(None, None, None)


def tensor_args(args: tuple, kwargs: dict) -> Iterable[torch.Tensor]:
    for value in (*args, *kwargs.values()):
        if isinstance(value, torch.Tensor):
            yield value
        elif isinstance(value, (list, tuple)):
            for inner in value:
                if isinstance(inner, torch.Tensor):
                    yield inner
