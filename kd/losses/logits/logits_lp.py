"""L2 / L1 regression of the teacher's logits.

Paper:
    J. Ba, R. Caruana. "Do Deep Nets Really Need to be Deep?". NIPS 2014,
    arXiv:1312.6184 (mimic learning: L2 regression on the logits). The same
    L2 / L1 matching of raw head outputs (class, objectness and box logits) is
    the common baseline of YOLO distillation.

Formula (``s``, ``t`` logits of the same shape, any layout)::

    LogitsMSELoss: L = loss_weight * mean((s / tau - t / tau)**2)
    LogitsL1Loss:  L = loss_weight * mean(|s / tau - t / tau|)

(``sum`` instead of ``mean`` for ``reduction='sum'``.)

Reference implementation: :func:`torch.nn.functional.mse_loss` /
:func:`torch.nn.functional.l1_loss` on the (temperature-scaled) logits, as in
mdistiller-style logit-matching baselines; ``tau = 1`` is plain logit matching.

Arguments:
    loss_weight: factor applied to the loss.
    reduction: ``'mean'`` over every element or ``'sum'``.
    tau: both logits are divided by ``tau`` before the comparison (no
        ``tau**2`` compensation: the loss scales as ``1 / tau**2`` for MSE and
        ``1 / tau`` for L1).
"""
from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from kd.registry import MODELS

from ..utils import check_same_shape, float_dtype

_REDUCTIONS = ('mean', 'sum')


class _LogitsLpLoss(nn.Module):
    """Shared body of the L2 and L1 logit losses."""

    _name = ''

    def __init__(self, loss_weight: float = 1.0, reduction: str = 'mean',
                 tau: float = 1.0) -> None:
        super().__init__()
        if reduction not in _REDUCTIONS:
            raise ValueError(f'reduction must be one of {_REDUCTIONS}, got {reduction!r}')
        if tau <= 0:
            raise ValueError(f'tau must be positive, got {tau}')
        self.loss_weight = loss_weight
        self.reduction = reduction
        self.tau = tau

    def _distance(self, student: Tensor, teacher: Tensor) -> Tensor:
        raise NotImplementedError

    def forward(self, student: Tensor, teacher: Tensor, **kwargs) -> Tensor:
        """Compute the loss.

        Args:
            student: student logits (any shape).
            teacher: teacher logits of the same shape (treated as a constant).
        """
        check_same_shape(self._name, student, teacher)
        dtype = float_dtype(student)
        s = student.to(dtype) / self.tau
        t = teacher.detach().to(dtype) / self.tau
        return self.loss_weight * self._distance(s, t)

    def extra_repr(self) -> str:
        return f'loss_weight={self.loss_weight}, reduction={self.reduction!r}, tau={self.tau}'


@MODELS.register_module()
class LogitsMSELoss(_LogitsLpLoss):
    """Mean (or summed) squared error between temperature-scaled logits.

    Args:
        loss_weight: factor applied to the loss.
        reduction: ``'mean'`` or ``'sum'``.
        tau: temperature dividing both logits.
    """

    _name = 'LogitsMSELoss'

    def _distance(self, student: Tensor, teacher: Tensor) -> Tensor:
        return F.mse_loss(student, teacher, reduction=self.reduction)


@MODELS.register_module()
class LogitsL1Loss(_LogitsLpLoss):
    """Mean (or summed) absolute error between temperature-scaled logits.

    Args:
        loss_weight: factor applied to the loss.
        reduction: ``'mean'`` or ``'sum'``.
        tau: temperature dividing both logits.
    """

    _name = 'LogitsL1Loss'

    def _distance(self, student: Tensor, teacher: Tensor) -> Tensor:
        return F.l1_loss(student, teacher, reduction=self.reduction)
