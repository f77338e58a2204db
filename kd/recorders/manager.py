"""Build recorders from config specs and drive a named group of them."""
from __future__ import annotations

import difflib
import inspect
from types import TracebackType
from typing import Any, Union

from torch import nn

from kd.registry import build_kd_module

from .base import BaseRecorder
from .method_recorder import MethodOutputsRecorder, _is_callable
from .module_recorders import ModuleInputsRecorder, ModuleOutputsRecorder

RecorderSpec = Union[str, dict, BaseRecorder]

RECORDER_KINDS: dict[str, type[BaseRecorder]] = {
    cls.kind: cls
    for cls in (ModuleOutputsRecorder, ModuleInputsRecorder, MethodOutputsRecorder)
}


def build_recorder(spec: RecorderSpec, model: nn.Module | None = None) -> BaseRecorder:
    """Build a recorder from the ``student``/``teacher`` field of a distill entry.

    Args:
        spec: one of

            * a string: a module name (``'neck'``) records that module's
              outputs; a string whose last component is a method of the
              resolved object and not a sub-module (``'bbox_head.forward'``,
              ``'extract_feat'``) records the method's return value;
            * a dict ``dict(source=..., type=..., index=..., call=...)`` where
              ``type`` is ``'module_outputs'`` (default), ``'module_inputs'``,
              ``'method_outputs'`` or any registered recorder class name;
            * a recorder instance, returned unchanged.
        model: the model the recorder will be attached to; used to tell a
            method from a module for string specs.  Without it, only a
            trailing ``.forward`` is taken as a method.

    Returns:
        The recorder, not yet attached (call ``prepare(model)``).
    """
    if isinstance(spec, BaseRecorder):
        return spec
    if isinstance(spec, str):
        if _names_method(spec, model):
            return MethodOutputsRecorder(spec)
        return ModuleOutputsRecorder(spec)
    if not isinstance(spec, dict):
        raise TypeError(f'a recorder spec is a module/method name or a dict, got {spec!r}')
    if 'source' not in spec:
        raise KeyError(f'recorder spec {spec!r} has no "source" (e.g. source="neck").')
    cfg = dict(spec)
    kind = cfg.pop('type', ModuleOutputsRecorder.kind)
    if kind in RECORDER_KINDS:
        return RECORDER_KINDS[kind](**cfg)
    try:
        recorder = build_kd_module(dict(cfg, type=kind))
    except KeyError as error:
        raise KeyError(f'unknown recorder type {kind!r}; use one of '
                       f'{sorted(RECORDER_KINDS)} or a registered recorder class. '
                       f'({error.args[0] if error.args else error})') from error
    if not isinstance(recorder, BaseRecorder):
        raise TypeError(f'recorder type {kind!r} built a {type(recorder).__name__}, '
                        f'which is not a BaseRecorder.')
    return recorder


def _names_method(source: str, model: nn.Module | None) -> bool:
    """Whether the string spec ``source`` names a method rather than a module."""
    owner_name, _, attr = source.rpartition('.')
    if model is None:
        return attr == 'forward'
    modules = dict(model.named_modules())
    if source in modules:
        return False
    owner = modules.get(owner_name)
    if owner is None or attr in owner._modules:
        return False
    return _is_callable(inspect.getattr_static(owner, attr, None))


class RecorderManager:
    """A named group of recorders attached to one model.

    Use it as a context manager around one step: entering clears the previous
    step's records and turns recording on; leaving turns it off (the records
    stay readable until the next :meth:`reset` or the next ``with``).

    Example:
        >>> manager = RecorderManager({'fpn': build_recorder('neck')})
        >>> manager.prepare(model)
        >>> with manager:
        ...     model(inputs)
        >>> feats = manager.get('fpn')

    Args:
        recorders: recorder per name (the distill-entry name, for example).
    """

    def __init__(self, recorders: dict[str, BaseRecorder]) -> None:
        for name, recorder in recorders.items():
            if not isinstance(recorder, BaseRecorder):
                raise TypeError(f'recorder "{name}" is a {type(recorder).__name__}, not a '
                                f'BaseRecorder; build it with build_recorder(spec).')
        self.recorders = dict(recorders)

    @classmethod
    def from_specs(cls, specs: dict[str, RecorderSpec], model: nn.Module) -> RecorderManager:
        """Build every recorder with :func:`build_recorder` and attach it to ``model``."""
        manager = cls({name: build_recorder(spec, model) for name, spec in specs.items()})
        manager.prepare(model)
        return manager

    def prepare(self, model: nn.Module) -> None:
        """Attach every recorder to ``model`` (all or none on error)."""
        done: list[BaseRecorder] = []
        try:
            for recorder in self.recorders.values():
                recorder.prepare(model)
                done.append(recorder)
        except BaseException:
            for recorder in reversed(done):
                recorder.remove()
            raise

    def remove(self) -> None:
        """Detach every recorder (in the reverse order of :meth:`prepare`)."""
        for recorder in reversed(list(self.recorders.values())):
            recorder.remove()

    def reset(self) -> None:
        """Drop every record."""
        for recorder in self.recorders.values():
            recorder.reset()

    @property
    def recording(self) -> bool:
        """Whether the recorders currently store data."""
        return any(r.recording for r in self.recorders.values())

    def get(self, name: str) -> Any:
        """Return the record of the recorder ``name`` (see :meth:`BaseRecorder.get`)."""
        return self[name].get()

    def module_names(self) -> set[str]:
        """First component of every source: the top-level children the recorders touch.

        ``'neck'`` gives ``'neck'``, ``'backbone.layer3'`` gives ``'backbone'``,
        ``'bbox_head.forward'`` gives ``'bbox_head'``; a method of the model
        itself (``'extract_feat'``) gives the method name.
        """
        return {r.top_level_name for r in self.recorders.values()}

    def __getitem__(self, name: str) -> BaseRecorder:
        if name not in self.recorders:
            close = difflib.get_close_matches(name, list(self.recorders), n=3, cutoff=0.4)
            hint = f' Closest: {", ".join(close)}.' if close else ''
            raise KeyError(f'no recorder named "{name}"; have {sorted(self.recorders)}.{hint}')
        return self.recorders[name]

    def __contains__(self, name: object) -> bool:
        return name in self.recorders

    def __len__(self) -> int:
        return len(self.recorders)

    def __enter__(self) -> RecorderManager:
        self.reset()
        for recorder in self.recorders.values():
            recorder.recording = True
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        for recorder in self.recorders.values():
            recorder.recording = False

    def __repr__(self) -> str:
        items = ', '.join(f'{k}={v!r}' for k, v in self.recorders.items())
        return f'{type(self).__name__}({items})'
