"""MultiTeacherDistiller: one student, several frozen teachers."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import torch
import torch.nn as nn

from kd.recorders import RecorderManager
from kd.registry import MODELS

from .single_teacher import SingleTeacherDistiller, _autocast, _float32


def _weighted_mean(records: List[Any], weights: List[float]) -> Any:
    """Average tensors, or lists/tuples of tensors level by level."""
    total = float(sum(weights))
    first = records[0]
    if isinstance(first, torch.Tensor):
        shapes = {tuple(r.shape) for r in records}
        if len(shapes) != 1:
            raise ValueError(f'teachers\' records have different shapes {sorted(shapes)}; '
                             'averaged teachers must produce the same shapes (or add a '
                             'teacher-side connector per teacher in separate entries)')
        return sum(w * r for w, r in zip(weights, records)) / total
    if isinstance(first, (list, tuple)):
        if len({len(r) for r in records}) != 1:
            raise ValueError('teachers\' records have different numbers of levels: '
                             f'{[len(r) for r in records]}')
        return [_weighted_mean([r[i] for r in records], weights) for i in range(len(first))]
    raise TypeError(f'cannot average teacher records of type {type(first).__name__}')


@MODELS.register_module()
class MultiTeacherDistiller(SingleTeacherDistiller):
    """Distil one student from several frozen teachers.

    Args:
        teachers: ``{name: dict(config=PATH, checkpoint=PATH, ...)}``, each
            as the ``teacher`` of :class:`SingleTeacherDistiller` (loaded
            strictly, frozen, kept out of checkpoints, re-normalised inputs,
            minimal forward of its own, ``autocast='bf16'|'fp16'`` per teacher).
        distill: entries as for :class:`SingleTeacherDistiller`; the
            ``teacher`` side names the teacher:

            * ``teacher='t1.neck'`` — module ``neck`` of teacher ``t1``;
            * ``teacher=dict(teacher='t1', source='neck', index=..., call=...)``;
            * ``teacher=dict(teachers=dict(t1=0.7, t2=0.3), source='neck')`` —
              the weighted mean of the teachers' records (same shapes needed).
        **kwargs: the other :class:`SingleTeacherDistiller` arguments.

    A teacher runs only when an active entry needs it.
    """

    def __init__(self, student: dict, teachers: Dict[str, dict],
                 distill: Optional[Dict[str, dict]] = None, **kwargs) -> None:
        if 'teacher' in kwargs:
            raise TypeError('MultiTeacherDistiller takes `teachers=dict(name=dict(config=..., '
                            'checkpoint=...), ...)`, not `teacher`')
        if not isinstance(teachers, dict) or not teachers:
            raise ValueError('teachers must be a non-empty dict {name: dict(config=..., '
                             'checkpoint=...)}')
        for name in teachers:
            if not isinstance(name, str) or '.' in name or not name:
                raise ValueError(f'teacher name {name!r} must be a non-empty string without '
                                 'dots (it prefixes module names: "t1.neck")')
        super().__init__(student=student, teacher=dict(teachers), distill=distill, **kwargs)

    # ------------------------------------------------------------ teachers
    def _build_teacher(self, cfgs: Dict[str, dict], recipe_dir: Optional[str]) -> None:
        teachers: Dict[str, nn.Module] = {}
        self.teacher_meta = {}
        self._teacher_forward_cfgs: Dict[str, str] = {}
        self._conversions: Dict[str, tuple] = {}
        self._teacher_autocasts: Dict[str, Optional[str]] = {}
        for name, cfg in cfgs.items():
            model, _, self.teacher_meta[name] = self._load_teacher(
                dict(cfg) if isinstance(cfg, dict) else cfg, recipe_dir, f'teacher "{name}"')
            model.requires_grad_(False)
            model.eval()
            teachers[name] = model
            self._teacher_forward_cfgs[name] = cfg.get('forward', 'auto')
            self._conversions[name] = self._input_conversion(model)
            self._teacher_autocasts[name] = cfg.get('autocast')
        object.__setattr__(self, 'teachers', teachers)
        self.teacher_trainable = False
        self.teacher_scope = None

    def _teacher_modules(self) -> List[nn.Module]:
        return list(self.teachers.values())

    def _parse_teacher_spec(self, entry_name: str, spec: Any) -> List[Tuple[str, Any, float]]:
        """``[(teacher name, recorder spec, weight), ...]`` for one entry."""
        names = list(self.teachers)
        if isinstance(spec, str):
            head, _, rest = spec.partition('.')
            if head not in self.teachers or not rest:
                raise KeyError(f'distill entry "{entry_name}": teacher record {spec!r} must '
                               f'start with a teacher name, one of {names} (e.g. '
                               f'"{names[0]}.neck")')
            return [(head, rest, 1.0)]
        if isinstance(spec, dict):
            spec = dict(spec)
            if 'teachers' in spec:
                weights = spec.pop('teachers')
                if not isinstance(weights, dict) or not weights:
                    raise ValueError(f'distill entry "{entry_name}": teachers= must be '
                                     '{name: weight}')
                unknown = set(weights) - set(names)
                if unknown:
                    raise KeyError(f'distill entry "{entry_name}": unknown teachers '
                                   f'{sorted(unknown)}; have {names}')
                if any(w < 0 for w in weights.values()) or sum(weights.values()) <= 0:
                    raise ValueError(f'distill entry "{entry_name}": teacher weights must be '
                                     '>= 0 with a positive sum')
                return [(t, dict(spec), float(w)) for t, w in weights.items()]
            if 'teacher' in spec:
                t = spec.pop('teacher')
                if t not in self.teachers:
                    raise KeyError(f'distill entry "{entry_name}": unknown teacher {t!r}; '
                                   f'have {names}')
                return [(t, spec, 1.0)]
        raise ValueError(f'distill entry "{entry_name}": with several teachers the teacher '
                         f'record must name one: "t1.neck", dict(teacher="t1", source=...) '
                         f'or dict(teachers=dict(t1=0.5, t2=0.5), source=...); got {spec!r}')

    def _prepare_teacher_recorders(self) -> None:
        self._entry_teachers: Dict[str, List[Tuple[str, str, float]]] = {}
        per_teacher: Dict[str, Dict[str, Any]] = {t: {} for t in self.teachers}
        for name, entry in self.entries.items():
            parts = self._parse_teacher_spec(name, entry.teacher_spec)
            self._entry_teachers[name] = []
            for t, spec, weight in parts:
                key = f'{name}@{t}'
                per_teacher[t][key] = spec
                self._entry_teachers[name].append((t, key, weight))
        self.teacher_recorders_by_name: Dict[str, RecorderManager] = {}
        self.teacher_forward_modes: Dict[str, str] = {}
        for t, specs in per_teacher.items():
            manager = self._make_recorders(f'teacher "{t}"', self.teachers[t], specs)
            self.teacher_recorders_by_name[t] = manager
            requested = self._teacher_forward_cfgs[t]
            self.teacher_forward_modes[t] = requested if requested != 'auto' else \
                self._choose_mode(self.teachers[t], manager)

    def _needed_teachers(self, probe: bool) -> List[str]:
        entries = list(self.entries) if probe else self.active_entries()
        return sorted({t for e in entries for t, _, _ in self._entry_teachers[e]})

    def _run_teachers(self, inputs, data_samples, probe: bool = False) -> None:
        for t in self._needed_teachers(probe):
            mode = self.teacher_forward_modes[t]
            if probe and mode == 'loss':
                mode = 'tensor'
            if mode == 'none':
                continue
            with self.teacher_recorders_by_name[t], torch.no_grad(), \
                    _autocast(inputs, None if probe else self._teacher_autocasts[t]):
                self._run(self.teachers[t], mode,
                          self.teacher_inputs(inputs, self._conversions[t]), data_samples,
                          f'teacher "{t}"')

    def _teacher_record(self, name: str) -> Any:
        parts = self._entry_teachers[name]
        records = [self._get(self.teacher_recorders_by_name[t], key, f'teacher "{t}"')
                   for t, key, _ in parts]
        records = [_float32(r) if self._teacher_autocasts[t] else r
                   for r, (t, _, _) in zip(records, parts)]
        if len(records) == 1:
            return records[0]
        return _weighted_mean(records, [w for _, _, w in parts])

    def _reset_teacher_records(self) -> None:
        for manager in self.teacher_recorders_by_name.values():
            manager.reset()

    def _make_recorders(self, side, model, specs=None):
        if specs is None and side == 'teacher':  # the base class's single-teacher call
            return RecorderManager({})
        return super()._make_recorders(side, model, specs)
