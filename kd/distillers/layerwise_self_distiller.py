"""Self-distillation inside one network: deep layers teach shallow ones (BYOT)."""
from __future__ import annotations

from typing import Any, List, Optional

import torch
from torch import nn

from kd.registry import MODELS

from .single_teacher import SingleTeacherDistiller


def _detached(record: Any) -> Any:
    if isinstance(record, torch.Tensor):
        return record.detach()
    if isinstance(record, (list, tuple)):
        return type(record)(_detached(r) for r in record)
    if isinstance(record, dict):
        return {k: _detached(v) for k, v in record.items()}
    return record


@MODELS.register_module()
class LayerwiseSelfDistiller(SingleTeacherDistiller):
    """Distil a network's shallow layers from its own deepest outputs (BYOT-style).

    Zhang et al., "Be Your Own Teacher: Improve the Performance of Convolutional
    Neural Networks via Self Distillation", ICCV 2019. There is no second
    model: the *teacher* records of every entry are taken from the student's
    own forward pass (the same pass that computes its task loss) and detached,
    so the deepest classifier teaches without being pulled towards the shallow
    exits. Each shallow exit is a connector (typically
    :class:`~kd.connectors.ExitClassifierConnector`: bottleneck convolutions,
    pooling and a linear classifier) trained by the entry's loss
    (typically :class:`~kd.losses.BYOTLoss`: label cross-entropy plus KD from
    the deepest logits). The exits live in the distiller, not in the student,
    so the exported student is the plain network and inference costs nothing
    extra.

    Args:
        student: the network, as for :class:`SingleTeacherDistiller`.
        distill: entries whose ``student`` record is a shallow feature and whose
            ``teacher`` record is a deep output of the *same* network, e.g.
            ``dict(student=dict(source='backbone', index=0), teacher='head.fc',
            connector=dict(type='ExitClassifierConnector', num_downsamples=2),
            loss=dict(type='BYOTLoss'))``.
        **kwargs: other :class:`SingleTeacherDistiller` arguments (not
            ``teacher``, ``student_init_from_teacher``).
    """

    def __init__(self, student: dict, distill: Optional[dict] = None, **kwargs) -> None:
        for key in ('teacher', 'student_init_from_teacher'):
            if kwargs.get(key):
                raise TypeError(f'LayerwiseSelfDistiller takes its teacher records from the '
                                f'student itself; remove `{key}`.')
            kwargs.pop(key, None)
        if not distill:
            raise ValueError('LayerwiseSelfDistiller needs at least one distill entry (a '
                             'shallow exit taught by a deep output of the same network).')
        super().__init__(student=student, teacher=None, distill=distill, **kwargs)

    # the student is its own teacher: no model is built or loaded
    def _build_teacher(self, cfg, recipe_dir) -> None:
        self.teacher_meta = {}
        self.teacher_trainable = False

    @property
    def teacher(self) -> None:
        """No separate teacher (so DistillValLoop evaluates the student only)."""
        return None

    def _prepare_teacher_recorders(self) -> None:
        self.teacher_recorders = self._make_recorders('teacher', self.student)
        self.teacher_forward_mode = 'none'

    def _choose_mode(self, model: nn.Module, recorders) -> str:
        # the teacher records (deep outputs) must come from the same forward as the
        # student records, so a forward without the task loss runs the whole network
        return 'tensor'

    def _run_teachers(self, inputs, data_samples, probe: bool = False) -> None:
        """Nothing to run: the records come from the student's forward."""

    def _teacher_record(self, name: str) -> Any:
        return _detached(self._get(self.teacher_recorders, name, 'teacher'))

    def _teacher_modules(self) -> List[nn.Module]:
        return []

    def teacher_inputs(self, inputs, conversion=None):
        return inputs

    def _probe(self, shape):
        with self.teacher_recorders:
            return super()._probe(shape)

    def loss(self, inputs: torch.Tensor, data_samples: Optional[list] = None) -> dict:
        with self.teacher_recorders:
            return super().loss(inputs, data_samples)
