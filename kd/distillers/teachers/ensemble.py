"""Several frozen teachers; an entry names one of them or a weighted mean of several."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import torch
import torch.nn as nn

from .base import Teacher
from .frozen import FrozenTeacher


def weighted_mean(records: list[Any], weights: list[float]) -> Any:
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
        return [weighted_mean([r[i] for r in records], weights) for i in range(len(first))]
    raise TypeError(f'cannot average teacher records of type {type(first).__name__}')


class TeacherEnsemble(Teacher):
    """Frozen teachers by name, each with its own recorders, forward, inputs and autocast.

    An entry's teacher record is ``'t1.neck'``, ``dict(teacher='t1', source=...)``
    or ``dict(teachers=dict(t1=0.7, t2=0.3), source=...)`` (the weighted mean).
    A teacher runs only when an active entry needs it. ``distiller.teachers``
    is ``{name: model}``; the models stay out of the module tree.
    """

    def __init__(self, members: Mapping[str, FrozenTeacher]) -> None:
        if not members:
            raise ValueError('teachers must be a non-empty dict {name: dict(config=..., '
                             'checkpoint=...)}')
        for name in members:
            self.check_name(name)
        self.members = dict(members)
        self.parts: dict[str, list[tuple[str, str, float]]] = {}  # entry -> (t, key, w)

    @staticmethod
    def check_name(name: Any) -> None:
        if not isinstance(name, str) or '.' in name or not name:
            raise ValueError(f'teacher name {name!r} must be a non-empty string without '
                             'dots (it prefixes module names: "t1.neck")')

    def attach(self, host: nn.Module) -> None:
        object.__setattr__(host, 'teachers', self.models())

    def models(self) -> dict[str, nn.Module]:
        return {name: m.model for name, m in self.members.items()}

    def hidden_models(self) -> list[nn.Module]:
        return list(self.models().values())

    def inputs(self, inputs: Any, name: str | None = None) -> Any:
        return self.members[name or next(iter(self.members))].inputs(inputs)

    @property
    def forward_modes(self) -> dict[str, str]:
        return {name: m.forward_mode for name, m in self.members.items()}

    def parse_spec(self, entry: str, spec: Any) -> list[tuple[str, Any, float]]:
        """``[(teacher name, recorder spec, weight), ...]`` for one entry's teacher spec."""
        names = list(self.members)
        if isinstance(spec, str):
            head, _, rest = spec.partition('.')
            if head not in self.members or not rest:
                raise KeyError(f'distill entry "{entry}": teacher record {spec!r} must '
                               f'start with a teacher name, one of {names} (e.g. '
                               f'"{names[0]}.neck")')
            return [(head, rest, 1.0)]
        if isinstance(spec, dict) and 'teachers' in spec:
            spec = dict(spec)
            weights = spec.pop('teachers')
            if not isinstance(weights, dict) or not weights:
                raise ValueError(f'distill entry "{entry}": teachers= must be {{name: weight}}')
            unknown = set(weights) - set(names)
            if unknown:
                raise KeyError(f'distill entry "{entry}": unknown teachers '
                               f'{sorted(unknown)}; have {names}')
            if any(w < 0 for w in weights.values()) or sum(weights.values()) <= 0:
                raise ValueError(f'distill entry "{entry}": teacher weights must be '
                                 '>= 0 with a positive sum')
            return [(t, dict(spec), float(w)) for t, w in weights.items()]
        if isinstance(spec, dict) and 'teacher' in spec:
            spec = dict(spec)
            t = spec.pop('teacher')
            if t not in self.members:
                raise KeyError(f'distill entry "{entry}": unknown teacher {t!r}; have {names}')
            return [(t, spec, 1.0)]
        raise ValueError(f'distill entry "{entry}": with several teachers the teacher '
                         f'record must name one: "t1.neck", dict(teacher="t1", source=...) '
                         f'or dict(teachers=dict(t1=0.5, t2=0.5), source=...); got {spec!r}')

    def prepare(self, specs: Mapping[str, Any]) -> None:
        per_teacher: dict[str, dict[str, Any]] = {t: {} for t in self.members}
        for entry, spec in specs.items():
            self.parts[entry] = []
            for t, t_spec, weight in self.parse_spec(entry, spec):
                key = f'{entry}@{t}'
                per_teacher[t][key] = t_spec
                self.parts[entry].append((t, key, weight))
        for t, t_specs in per_teacher.items():
            self.members[t].prepare(t_specs)

    def run(self, inputs: Any, data_samples: Any, entries: Sequence[str],
            probe: bool = False) -> dict:
        keys: dict[str, list[str]] = {}
        for entry in entries:
            for t, key, _ in self.parts[entry]:
                keys.setdefault(t, []).append(key)
        for t in sorted(keys):
            self.members[t].run(inputs, data_samples, keys[t], probe=probe)
        return {}

    def record(self, name: str) -> Any:
        parts = self.parts[name]
        records = [self.members[t].record(key) for t, key, _ in parts]
        if len(records) == 1:
            return records[0]
        return weighted_mean(records, [w for _, _, w in parts])

    def reset(self) -> None:
        for member in self.members.values():
            member.reset()
