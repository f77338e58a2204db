"""Recorders built on PyTorch module hooks: a module's outputs or inputs."""
from __future__ import annotations

import inspect
from typing import Any

from torch import nn
from torch.utils.hooks import RemovableHandle

from kd.registry import MODELS

from .base import BaseRecorder, _missing_message


class _ModuleHookRecorder(BaseRecorder):
    """Shared logic of the hook recorders: resolve the module, own one handle."""

    def __init__(self, source: str, index: int | None = None,
                 call: int | None = None) -> None:
        if source in ('', '.'):
            raise ValueError(
                f'{type(self).__name__} needs a sub-module name such as "neck" or '
                f'"backbone.layer3", got {source!r} (the whole model). Record a '
                f'method of the model instead, e.g. dict(source="extract_feat", '
                f'type="method_outputs").')
        super().__init__(source, index=index, call=call)
        self._handle: RemovableHandle | None = None

    def prepare(self, model: nn.Module) -> None:
        """Register the hook on the module named ``source`` of ``model``."""
        if self._handle is not None:
            raise RuntimeError(f'{self!r} is already attached; call remove() first.')
        module = self._resolve(model)
        self._handle = self._register(module)
        self._model_name = type(model).__name__

    def remove(self) -> None:
        """Remove the hook; the recorder can be prepared again afterwards."""
        if self._handle is not None:
            self._handle.remove()
            self._handle = None
        self._model_name = None

    def _resolve(self, model: nn.Module) -> nn.Module:
        modules = dict(model.named_modules())
        if self.source in modules:
            return modules[self.source]
        message = _missing_message(self.source, [n for n in modules if n], model, 'module')
        owner_name, _, attr = self.source.rpartition('.')
        owner = modules.get(owner_name)
        if owner is not None and callable(inspect.getattr_static(owner, attr, None)):
            message += (f' "{self.source}" is a method: record it with '
                        f'dict(source="{self.source}", type="method_outputs").')
        raise KeyError(message)

    def _register(self, module: nn.Module) -> RemovableHandle:
        raise NotImplementedError


@MODELS.register_module()
class ModuleOutputsRecorder(_ModuleHookRecorder):
    """Record the outputs of a sub-module with a forward hook.

    Args:
        source: dotted module name, e.g. ``'neck'`` or ``'backbone.layer3'``.
        index: item of a tuple/list output to keep (e.g. one FPN level).
        call: which call to keep when the module runs several times.
    """

    kind = 'module_outputs'

    def _register(self, module: nn.Module) -> RemovableHandle:
        return module.register_forward_hook(self._hook)

    def _hook(self, module: nn.Module, args: tuple, output: Any) -> None:
        self.record(output)


@MODELS.register_module()
class ModuleInputsRecorder(_ModuleHookRecorder):
    """Record the positional inputs of a sub-module with a forward pre-hook.

    The record of one call is the tuple of positional inputs.  With
    ``index=None`` a single input is returned as is (not as a 1-tuple);
    ``index=i`` picks the ``i``-th input.

    Args:
        source: dotted module name, e.g. ``'bbox_head.retina_cls'``.
        index: which positional input to keep.
        call: which call to keep when the module runs several times.
    """

    kind = 'module_inputs'

    def _register(self, module: nn.Module) -> RemovableHandle:
        return module.register_forward_pre_hook(self._hook)

    def _hook(self, module: nn.Module, args: tuple) -> None:
        self.record(args)

    def _select_item(self, record: Any) -> Any:
        if self.index is None and isinstance(record, tuple) and len(record) == 1:
            return record[0]
        return super()._select_item(record)
