"""Self-distillation inside one network: deep layers teach shallow ones (BYOT)."""
from __future__ import annotations

from kd.registry import MODELS

from .base import BaseDistiller
from .teachers import OwnLayersTeacher, Teacher


@MODELS.register_module()
class LayerwiseSelfDistiller(BaseDistiller):
    """Distil a network's shallow layers from its own deepest outputs (BYOT-style).

    Zhang et al., "Be Your Own Teacher: Improve the Performance of Convolutional
    Neural Networks via Self Distillation", ICCV 2019. There is no second
    model: the *teacher* records of every entry are taken from the student's
    own forward pass (the same pass that computes its task loss) and detached
    (:class:`~kd.distillers.teachers.OwnLayersTeacher`), so the deepest
    classifier teaches without being pulled towards the shallow exits. Each
    shallow exit is a connector (typically
    :class:`~kd.connectors.ExitClassifierConnector`) trained by the entry's
    loss (typically :class:`~kd.losses.BYOTLoss`). The exits live in the
    distiller, not in the student, so the exported student is the plain network.
    ``teacher`` is ``None``, so ``DistillValLoop`` evaluates the student only.

    Args:
        student: the network, as for :class:`SingleTeacherDistiller`.
        distill: entries whose ``student`` record is a shallow feature and whose
            ``teacher`` record is a deep output of the *same* network, e.g.
            ``dict(student=dict(source='backbone', index=0), teacher='head.fc',
            connector=dict(type='ExitClassifierConnector', num_downsamples=2),
            loss=dict(type='BYOTLoss'))``.
        **kwargs: the other :class:`~kd.distillers.base.BaseDistiller` arguments.
    """

    def __init__(self, student: dict, distill: dict | None = None, **kwargs) -> None:
        for key in ('teacher', 'student_init_from_teacher'):
            if kwargs.get(key):
                raise TypeError(f'LayerwiseSelfDistiller takes its teacher records from the '
                                f'student itself; remove `{key}`.')
            kwargs.pop(key, None)
        if not distill:
            raise ValueError('LayerwiseSelfDistiller needs at least one distill entry (a '
                             'shallow exit taught by a deep output of the same network).')
        super().__init__(student=student, distill=distill, **kwargs)

    def build_teacher(self, recipe_dir: str | None) -> Teacher:
        self.teacher_meta = {}
        return OwnLayersTeacher(self.student)
