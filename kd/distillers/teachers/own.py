"""Teachers made from the student itself: an EMA copy, or its own deep layers (BYOT)."""
from __future__ import annotations

import copy
from typing import Any, ContextManager, Mapping, Sequence

import torch
import torch.nn as nn

from kd.recorders import RecorderManager

from ..records import detached, get_record, make_recorders
from .base import Teacher
from .frozen import FrozenTeacher


class EMATeacher(FrozenTeacher):
    """An exponential moving average of the student (mean-teacher style).

    Starts as a copy of the student, is frozen (no gradient, not in the
    optimizer) and is a registered sub-module (``teacher.*`` in the state dict),
    so ``--resume`` continues with the same teacher. :meth:`follow` moves it
    towards the student.
    """

    def __init__(self, student: nn.Module, scope: str | None = None) -> None:
        super().__init__(copy.deepcopy(student), getattr(student, 'data_preprocessor', None),
                         hidden=False, scope=scope)

    @torch.no_grad()
    def follow(self, student: nn.Module, momentum: float) -> None:
        """``θ_t ← m · θ_t + (1 − m) · θ_s`` for float tensors; other buffers are copied."""
        t_state = self.model.state_dict()
        for key, s_value in student.state_dict().items():
            t_value = t_state[key]
            if torch.is_floating_point(t_value):
                t_value.mul_(momentum).add_(s_value.detach(), alpha=1 - momentum)
            else:
                t_value.copy_(s_value)


class OwnLayersTeacher(Teacher):
    """The student's own deep outputs teach its shallow exits (BYOT): no teacher model.

    The teacher recorders sit on the student and record during the student's
    forward (which then runs whole, ``tensor`` or ``loss`` mode); records are
    detached, so the deep layers are not pulled towards the shallow exits.
    ``distiller.teacher`` is ``None`` (``DistillValLoop`` evaluates the student only).
    """

    records_in_student_forward = True

    def __init__(self, student: nn.Module) -> None:
        self._student = student
        self.recorders = RecorderManager({})
        self.forward_mode = 'none'

    def attach(self, host: nn.Module) -> None:
        host.teacher = None

    def prepare(self, specs: Mapping[str, Any]) -> None:
        self.recorders = make_recorders('teacher', self._student, specs)

    def recording_student(self) -> ContextManager:
        return self.recorders

    def run(self, inputs: Any, data_samples: Any, entries: Sequence[str],
            probe: bool = False) -> dict:
        return {}   # the records come from the student's forward

    def record(self, name: str) -> Any:
        return detached(get_record(self.recorders, name, 'teacher'))

    def reset(self) -> None:
        self.recorders.reset()
