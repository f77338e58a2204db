"""MultiTeacherDistiller: one student, several frozen teachers."""
from __future__ import annotations

from kd.registry import MODELS

from .base import BaseDistiller
from .teachers import FrozenTeacher, Teacher, TeacherEnsemble


@MODELS.register_module()
class MultiTeacherDistiller(BaseDistiller):
    """Distil one student from several frozen teachers.

    Args:
        teachers: ``{name: dict(config=PATH, checkpoint=PATH, ...)}``, each
            as the ``teacher`` of :class:`SingleTeacherDistiller` (loaded
            strictly, frozen, kept out of checkpoints, adapted inputs, minimal
            forward of its own, ``autocast='bf16'|'fp16'`` per teacher).
        distill: entries as for :class:`SingleTeacherDistiller`; the
            ``teacher`` side names the teacher:

            * ``teacher='t1.neck'`` — module ``neck`` of teacher ``t1``;
            * ``teacher=dict(teacher='t1', source='neck', index=..., call=...)``;
            * ``teacher=dict(teachers=dict(t1=0.7, t2=0.3), source='neck')`` —
              the weighted mean of the teachers' records (same shapes needed).
        **kwargs: the other :class:`~kd.distillers.base.BaseDistiller` arguments.

    A teacher runs only when an active entry needs it
    (:class:`~kd.distillers.teachers.TeacherEnsemble`).
    """

    def __init__(self, student: dict, teachers: dict[str, dict],
                 distill: dict | None = None, **kwargs) -> None:
        if 'teacher' in kwargs:
            raise TypeError('MultiTeacherDistiller takes `teachers=dict(name=dict(config=..., '
                            'checkpoint=...), ...)`, not `teacher`')
        if not isinstance(teachers, dict) or not teachers:
            raise ValueError('teachers must be a non-empty dict {name: dict(config=..., '
                             'checkpoint=...)}')
        self._teacher_cfgs = dict(teachers)
        super().__init__(student=student, distill=distill, **kwargs)

    def build_teacher(self, recipe_dir: str | None) -> Teacher:
        for name in self._teacher_cfgs:   # checked before any teacher is built
            TeacherEnsemble.check_name(name)
        members = {name: FrozenTeacher.from_config(
            dict(cfg) if isinstance(cfg, dict) else cfg, recipe_dir, self.data_preprocessor,
            label=f'teacher "{name}"') for name, cfg in self._teacher_cfgs.items()}
        self.teacher_meta = {name: m.meta for name, m in members.items()}
        self.teacher_scope = None
        return TeacherEnsemble(members)

    @property
    def teacher_forward_modes(self) -> dict[str, str]:
        """The forward mode of each teacher."""
        return self.teacher_side.forward_modes
