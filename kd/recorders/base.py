"""The recorder base class: what every recorder stores and how it is read.

A recorder captures one thing (a module's outputs, a module's inputs or a
method's return value) from one model during one training step.  It stores
data only while ``recording`` is on, so nothing is captured during evaluation
or outside the distiller's ``with recorders:`` block, and :meth:`reset` drops
every reference so no tensor is kept across steps.
"""
from __future__ import annotations

import difflib
from abc import ABCMeta, abstractmethod
from typing import Any

from torch import nn


class BaseRecorder(metaclass=ABCMeta):
    """Capture what one source produces while recording is on.

    Args:
        source: where to record, relative to the model given to
            :meth:`prepare` (a module name such as ``'neck'`` or a method path
            such as ``'bbox_head.forward'``).
        index: pick item ``index`` of a tuple/list record (e.g. one FPN level);
            ``None`` keeps the whole record.
        call: pick the record of the ``call``-th call of the source in this
            step (negative counts from the end); ``None`` returns the single
            record when the source ran once and the list of all calls'
            records when it ran several times.

    Attributes:
        recording: data is stored only while this is ``True``.
    """

    #: short type name used in configs (``dict(type='module_outputs')``).
    kind: str = ''

    def __init__(self, source: str, index: int | None = None,
                 call: int | None = None) -> None:
        if not isinstance(source, str):
            raise TypeError(f'recorder source must be a string, got {source!r}')
        for name, value in (('index', index), ('call', call)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise TypeError(f'recorder {name} must be an int or None, got {value!r}')
        self.source = source
        self.index = index
        self.call = call
        self.recording = False
        self._records: list[Any] = []
        self._model_name: str | None = None

    # ------------------------------------------------------------------ attach
    @abstractmethod
    def prepare(self, model: nn.Module) -> None:
        """Attach to ``model`` (resolve ``source`` and install hooks)."""

    @abstractmethod
    def remove(self) -> None:
        """Detach from the model: every hook or wrapper is removed."""

    @property
    def prepared(self) -> bool:
        """Whether the recorder is attached to a model."""
        return self._model_name is not None

    @property
    def top_level_name(self) -> str:
        """First component of ``source`` (a child module or a method of the model)."""
        return self.source.split('.')[0]

    # ------------------------------------------------------------------ data
    def reset(self) -> None:
        """Drop every stored record (no reference to the data is kept)."""
        self._records = []

    def record(self, value: Any) -> None:
        """Store ``value`` as the record of one call, if recording is on."""
        if self.recording:
            self._records.append(value)

    @property
    def num_calls(self) -> int:
        """How many calls of the source were recorded since the last reset."""
        return len(self._records)

    def get(self) -> Any:
        """Return the record selected by ``call`` and ``index``.

        Returns:
            The output of the single call; or, when the source ran several
            times and ``call`` is ``None``, a list with one entry per call.
            ``index`` is applied to each selected call's record.

        Raises:
            RuntimeError: nothing was recorded in this step.
            IndexError: ``call`` or ``index`` is out of range.
        """
        if not self._records:
            raise RuntimeError(self._not_recorded_message())
        if self.call is None:
            if len(self._records) == 1:
                return self._select_item(self._records[0])
            return [self._select_item(r) for r in self._records]
        n = len(self._records)
        if not -n <= self.call < n:
            raise IndexError(
                f'{self!r}: call={self.call} is out of range; the source ran '
                f'{n} time(s) in this step (valid calls: {-n}..{n - 1}).')
        return self._select_item(self._records[self.call])

    def _select_item(self, record: Any) -> Any:
        """Apply ``index`` to the record of one call."""
        if self.index is None:
            return record
        if not isinstance(record, (tuple, list)):
            raise IndexError(
                f'{self!r}: index={self.index} was given but the record is a '
                f'{type(record).__name__}, not a tuple or list; drop `index`.')
        n = len(record)
        if not -n <= self.index < n:
            raise IndexError(
                f'{self!r}: index={self.index} is out of range; the record has '
                f'{n} item(s) (valid indices: {-n}..{n - 1}).')
        return record[self.index]

    def _not_recorded_message(self) -> str:
        if not self.prepared:
            return (f'{self!r} is not attached to a model; call '
                    f'`prepare(model)` (or RecorderManager.prepare) first.')
        return (f'{self!r} holds no record: "{self.source}" of {self._model_name} '
                f'never ran while recording was on in this step (e.g. the '
                f'teacher forward skipped it, or the step ran outside '
                f'`with recorders:`).')

    def __repr__(self) -> str:
        extra = ''.join(f', {k}={v}' for k, v in (('index', self.index), ('call', self.call))
                        if v is not None)
        return f'{type(self).__name__}(source={self.source!r}{extra})'


def resolve_module(model: nn.Module, name: str, what: str = 'module') -> nn.Module:
    """Return the sub-module ``name`` of ``model``; ``''`` is the model itself.

    Raises:
        KeyError: no such module; the message lists the closest real names.
    """
    if name == '':
        return model
    modules = dict(model.named_modules())
    if name in modules:
        return modules[name]
    raise KeyError(_missing_message(name, [n for n in modules if n], model, what))


def _missing_message(name: str, candidates: list[str], model: nn.Module, what: str) -> str:
    close = difflib.get_close_matches(name, candidates, n=5, cutoff=0.4)
    hint = f' Closest names: {", ".join(close)}.' if close else ''
    return f'{type(model).__name__} has no {what} named "{name}".{hint}'
