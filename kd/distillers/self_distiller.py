"""Self-distillation: the teacher is an exponential moving average of the student."""
from __future__ import annotations

import torch

from kd.registry import MODELS

from .base import BaseDistiller
from .teachers import EMATeacher, Teacher


@MODELS.register_module()
class SelfDistiller(BaseDistiller):
    """Distil the student from an EMA copy of itself (mean-teacher style).

    Before every training step the teacher moves towards the student:
    ``θ_t ← m · θ_t + (1 − m) · θ_s`` for every floating-point parameter and
    buffer (BatchNorm statistics included); integer buffers are copied. The
    teacher (:class:`~kd.distillers.teachers.EMATeacher`) starts as an exact
    copy of the initialised student, is frozen (no gradient, not in the
    optimizer) and is saved in checkpoints, so ``--resume`` continues with the
    same teacher. The exported student excludes it.

    Args:
        student: as for :class:`SingleTeacherDistiller`.
        distill: entries whose records name modules of the student's
            architecture on both sides.
        momentum: ``m`` above (0.999 is usual; smaller follows faster).
        warmup_iters: use ``min(m, (1 + k) / (10 + k))`` for the first steps
            (``k``: updates done), so the young teacher is not stuck at the
            random initialisation; 0 disables.
        **kwargs: the other :class:`~kd.distillers.base.BaseDistiller` arguments.
    """

    def __init__(self, student: dict, distill: dict | None = None,
                 momentum: float = 0.999, warmup_iters: int = 0, **kwargs) -> None:
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f'SelfDistiller momentum must be in [0, 1), got {momentum}')
        if 'teacher' in kwargs:
            raise TypeError('SelfDistiller builds its teacher from the student; remove the '
                            '`teacher` argument (or use SingleTeacherDistiller)')
        self._ema_momentum = momentum
        self._ema_warmup = warmup_iters
        super().__init__(student=student, distill=distill, **kwargs)
        self.register_buffer('ema_updates', torch.zeros((), dtype=torch.long))

    def build_teacher(self, recipe_dir: str | None) -> Teacher:
        self.teacher_meta = {}
        return EMATeacher(self.student, scope=self.student_scope)

    def init_weights(self) -> None:
        super().init_weights()
        self.teacher.load_state_dict(self.student.state_dict())  # start as a copy

    def current_momentum(self) -> float:
        k = int(self.ema_updates)
        if self._ema_warmup and k < self._ema_warmup:
            return min(self._ema_momentum, (1 + k) / (10 + k))
        return self._ema_momentum

    @torch.no_grad()
    def ema_update(self) -> None:
        """One EMA step of the teacher towards the student."""
        self.teacher_side.follow(self.student, self.current_momentum())
        self.ema_updates += 1

    def loss(self, inputs, data_samples=None) -> dict:
        if self.training:
            self.ema_update()
        return super().loss(inputs, data_samples)
