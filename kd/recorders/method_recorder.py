"""Record a method's return value by wrapping the method of one instance.

The wrapper is an *instance* attribute that shadows the class method, so only
the prepared object is affected: another instance of the same class (a
teacher and a student with the same head class, say) runs the plain method.
:meth:`MethodOutputsRecorder.remove` deletes the instance attribute again,
which restores exactly the original lookup.
"""
from __future__ import annotations

import functools
import inspect
from typing import Any, Callable

from torch import nn

from kd.registry import MODELS

from .base import BaseRecorder, _missing_message

_MISSING = object()


@MODELS.register_module()
class MethodOutputsRecorder(BaseRecorder):
    """Record what a method of the model (or of one sub-module) returns.

    Args:
        source: ``'<module name>.<method>'`` such as ``'bbox_head.forward'``,
            or a method of the model itself such as ``'extract_feat'``.
        index: item of a tuple/list return value to keep.
        call: which call to keep when the method runs several times.
    """

    kind = 'method_outputs'

    def __init__(self, source: str, index: int | None = None,
                 call: int | None = None) -> None:
        if not source or source.startswith('.') or source.endswith('.'):
            raise ValueError(f'MethodOutputsRecorder needs "module.method" or "method", '
                             f'got {source!r}.')
        super().__init__(source, index=index, call=call)
        self.owner_name, _, self.method_name = source.rpartition('.')
        self._owner: nn.Module | None = None
        self._wrapper: Callable | None = None
        self._shadowed: Any = _MISSING

    def prepare(self, model: nn.Module) -> None:
        """Shadow ``source`` on its instance with a recording wrapper."""
        if self._owner is not None:
            raise RuntimeError(f'{self!r} is already attached; call remove() first.')
        owner = self._resolve_owner(model)
        original = getattr(owner, self.method_name)

        @functools.wraps(original)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            outputs = original(*args, **kwargs)
            self.record(outputs)
            return outputs

        # An earlier recorder may already shadow this method on this instance;
        # keep its wrapper so that remove() can put it back.
        self._shadowed = vars(owner).get(self.method_name, _MISSING)
        object.__setattr__(owner, self.method_name, wrapper)
        self._owner, self._wrapper = owner, wrapper
        self._model_name = type(model).__name__

    def remove(self) -> None:
        """Restore the method exactly as it was before :meth:`prepare`."""
        owner = self._owner
        if owner is None:
            return
        if vars(owner).get(self.method_name) is not self._wrapper:
            raise RuntimeError(
                f'{self!r}: "{self.source}" was wrapped again after this recorder; '
                f'remove recorders in the reverse order of prepare().')
        if self._shadowed is _MISSING:
            object.__delattr__(owner, self.method_name)
        else:
            object.__setattr__(owner, self.method_name, self._shadowed)
        self._owner = self._wrapper = None
        self._shadowed = _MISSING
        self._model_name = None

    def _resolve_owner(self, model: nn.Module) -> nn.Module:
        modules = dict(model.named_modules())
        owner = modules.get(self.owner_name)
        if owner is None:
            raise KeyError(_missing_message(self.owner_name, [n for n in modules if n],
                                            model, 'module'))
        attr = inspect.getattr_static(owner, self.method_name, _MISSING)
        if attr is _MISSING and self.method_name in owner._modules:
            attr = owner._modules[self.method_name]
        if isinstance(attr, nn.Module):
            raise KeyError(f'"{self.source}" of {type(model).__name__} is a sub-module, '
                           f'not a method: record it with type="module_outputs".')
        if attr is _MISSING or not _is_callable(attr):
            raise KeyError(_missing_message(self.method_name, _method_names(owner),
                                            owner, 'method')
                           + f' (looked up for "{self.source}" of {type(model).__name__})')
        return owner


def _method_names(obj: object) -> list[str]:
    """Names of the callables defined on ``type(obj)`` (for suggestions)."""
    names = []
    for name in dir(type(obj)):
        attr = inspect.getattr_static(obj, name, None)
        if _is_callable(attr):
            names.append(name)
    return names


def _is_callable(attr: object) -> bool:
    return callable(attr) or isinstance(attr, (staticmethod, classmethod))
