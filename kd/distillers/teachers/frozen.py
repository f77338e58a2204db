"""Teachers built from a config and a checkpoint: frozen, or trained online."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import torch
import torch.nn as nn

from kd.recorders import RecorderManager

from ..builder import build_model, load_teacher_weights, model_cfg_and_scope
from ..forward import check_forward_mode, choose_forward_mode, run_forward
from ..records import float32, get_record, make_recorders
from .base import TEACHER_AUTOCAST, Teacher, autocast
from .inputs import TeacherInputs

TEACHER_KEYS = frozenset({'config', 'checkpoint', 'allow_random_init', 'forward',
                          'allow_unsafe_unpickle', 'autocast', 'input_size'})


def load_teacher(cfg: dict, recipe_dir: str | None, label: str = 'teacher',
                 extra_keys: frozenset = frozenset()) -> tuple[nn.Module, str | None, dict]:
    """Build one teacher from ``dict(config, checkpoint, ...)`` and load it strictly.

    Returns ``(model, default scope, checkpoint meta)``.
    """
    if not isinstance(cfg, dict) or 'config' not in cfg:
        raise TypeError(f'{label} must be dict(config=PATH, checkpoint=PATH); got '
                        f'{cfg!r:.200}')
    known = TEACHER_KEYS | set(extra_keys)
    unknown = set(cfg) - known
    if unknown:
        raise KeyError(f'{label} has unknown keys {sorted(unknown)}; allowed: {sorted(known)}')
    if cfg.get('autocast') is not None and cfg['autocast'] not in TEACHER_AUTOCAST:
        raise ValueError(f'{label}: autocast={cfg["autocast"]!r} is not one of '
                         f'{sorted(TEACHER_AUTOCAST)} (or None for float32)')
    t_cfg, t_scope, _ = model_cfg_and_scope(cfg, recipe_dir, label)
    model = build_model(t_cfg, t_scope)
    checkpoint = cfg.get('checkpoint')
    if checkpoint:
        try:
            meta = load_teacher_weights(model, checkpoint, recipe_dir,
                                        allow_unsafe=bool(cfg.get('allow_unsafe_unpickle')))
        except KeyError as err:
            raise KeyError(f'{label}: {err.args[0]}') from err
    elif not cfg.get('allow_random_init', False):
        raise ValueError(
            f'{label} has no checkpoint: a randomly initialised teacher silently '
            'ruins distillation. Set dict(config=..., checkpoint=PATH) or, '
            'on purpose (tests, benchmarks), allow_random_init=True.')
    else:
        meta = {}
    return model, t_scope, meta


class FrozenTeacher(Teacher):
    """A trained network that only provides records: frozen, eval mode, no grad.

    Args:
        model: the teacher network (loaded already).
        student_preprocessor: the distiller's data preprocessor (for input adaptation).
        forward: ``'auto'`` (the least forward that fires every record) or a
            mode of :mod:`kd.distillers.forward`.
        autocast: ``'bf16'|'fp16'``: the forward runs under ``torch.autocast``,
            records are handed on in float32.
        input_size: ``(H, W)`` the teacher expects (the batch is resized for it).
        cache: ``dict(path=, config=, checkpoint=)`` of ``teacher=dict(cache=PATH)``.
        hidden: keep the model out of the distiller's module tree (so out of
            ``state_dict``, ``parameters()``, the optimizer and DDP).
        scope, meta: the teacher config's default scope and checkpoint meta.
        label: how errors name this teacher.
    """

    def __init__(self, model: nn.Module, student_preprocessor: nn.Module | None = None, *,
                 forward: str = 'auto', autocast: str | None = None,
                 input_size: Sequence[int] | None = None, cache: dict | None = None,
                 hidden: bool = True, scope: str | None = None, meta: dict | None = None,
                 label: str = 'teacher') -> None:
        self.model = model
        self.requested_mode = check_forward_mode(forward, label)
        self.forward_mode = forward
        self.autocast = autocast
        self.adapt = TeacherInputs(student_preprocessor,
                                   getattr(model, 'data_preprocessor', None), input_size)
        self.cache_cfg = cache
        self.hidden = hidden
        self.scope, self.meta, self.label = scope, dict(meta or {}), label
        self.recorders = RecorderManager({})
        self._cached: dict[str, torch.Tensor] | None = None
        self.freeze()

    @classmethod
    def from_config(cls, cfg: dict, recipe_dir: str | None,
                    student_preprocessor: nn.Module | None, label: str = 'teacher',
                    extra_keys: frozenset = frozenset(), **kwargs: Any) -> FrozenTeacher:
        """Build and strictly load ``dict(config=, checkpoint=, forward=, autocast=, ...)``."""
        model, scope, meta = load_teacher(cfg, recipe_dir, label, extra_keys)
        return cls(model, student_preprocessor, forward=cfg.get('forward', 'auto'),
                   autocast=cfg.get('autocast'), input_size=cfg.get('input_size'),
                   scope=scope, meta=meta, label=label, **kwargs)

    def freeze(self) -> None:
        self.model.requires_grad_(False)
        self.model.eval()

    # ---------------------------------------------------------------- attach
    def attach(self, host: nn.Module) -> None:
        if self.hidden:
            object.__setattr__(host, 'teacher', self.model)
        else:
            host.teacher = self.model

    def models(self) -> dict[str, nn.Module]:
        return {'teacher': self.model}

    def hidden_models(self) -> list[nn.Module]:
        return [self.model] if self.hidden else []

    def inputs(self, inputs: Any, name: str | None = None) -> Any:
        return self.adapt(inputs)

    # -------------------------------------------------------------- records
    def prepare(self, specs: Mapping[str, Any]) -> None:
        self.recorders = make_recorders(self.label, self.model, specs)
        self.forward_mode = self.requested_mode if self.requested_mode != 'auto' else \
            choose_forward_mode(self.model, self.recorders)

    def entries_built(self, entries: Mapping[str, Any]) -> None:
        if self.cache_cfg is not None:
            from ..teacher_cache import open_cache
            self.cache = open_cache(self, entries)

    def run(self, inputs: Any, data_samples: Any, entries: Sequence[str],
            probe: bool = False) -> dict:
        if not entries:
            return {}
        indices = None
        if self.cache is not None and not probe:
            from ..teacher_cache import sample_indices
            indices = sample_indices(data_samples)
            if self.cache.complete(indices):
                self._cached = self.cache.get(
                    indices, inputs.device if isinstance(inputs, torch.Tensor) else None)
                self.cache.hits += 1
                return {}
        mode = 'tensor' if probe and self.forward_mode == 'loss' else self.forward_mode
        with self.recorders, torch.no_grad(), autocast(inputs, None if probe else self.autocast):
            run_forward(self.model, mode, self.adapt(inputs), data_samples, self.label)
        if indices is not None:
            self.cache.misses += 1
            self.cache.put(indices, {name: self.record(name) for name in self.cache.entries})
        return {}

    def record(self, name: str) -> Any:
        if self._cached is not None:
            return self._cached[name]
        record = get_record(self.recorders, name, self.label)
        return float32(record) if self.autocast else record

    def reset(self) -> None:
        self._cached = None
        self.recorders.reset()

    def save_cache(self) -> str | None:
        """Write the output cache if it holds new records; returns the path written."""
        if self.cache is None or not self.cache.dirty:
            return None
        return self.cache.save()


class OnlineTeacher(FrozenTeacher):
    """A teacher that trains with the student (``teacher=dict(..., trainable=True)``).

    It is a registered sub-module (saved in checkpoints, in the optimizer),
    runs in ``loss`` mode every training step (with its recorders on) and its
    task losses are logged as ``teacher.*`` and summed into the total.
    """

    trainable = True

    def __init__(self, model: nn.Module, student_preprocessor: nn.Module | None = None,
                 **kwargs: Any) -> None:
        if kwargs.get('autocast') or kwargs.get('cache'):
            raise ValueError('teacher autocast= and cache= apply to a frozen teacher; a '
                             'trainable (online) teacher takes neither')
        super().__init__(model, student_preprocessor, hidden=False, **kwargs)

    def freeze(self) -> None:
        self.model.eval()   # the build-time probe must not move its BatchNorm statistics
        self.model.requires_grad_(True)

    def train(self, mode: bool) -> None:
        """Trains like the student (the distiller's ``train`` already set its mode)."""

    def run(self, inputs: Any, data_samples: Any, entries: Sequence[str],
            probe: bool = False) -> dict:
        if probe:
            return super().run(inputs, data_samples, entries, probe=True)
        with self.recorders:
            losses = self.model(self.adapt(inputs), data_samples, mode='loss')
        return {f'teacher.{key}': value for key, value in losses.items()}
