"""Squared error between student and teacher features (FitNets hints, Mimic).

Papers:
    A. Romero et al. "FitNets: Hints for Thin Deep Nets". ICLR 2015,
    arXiv:1412.6550 (hint loss on a regressed student feature).
    Q. Li, S. Jin, J. Yan. "Mimicking Very Efficient Network for Object
    Detection". CVPR 2017 (L2 between detector feature maps).

Formula (``s`` after the connector, ``t`` the teacher feature, same shape)::

    L = loss_weight * mean((s - t)**2)        reduction='mean'
    L = loss_weight * sum((s - t)**2)         reduction='sum'

Reference implementation: ``F.mse_loss(s, t)`` as used by mdistiller's
``FitNet`` and MMRazor's ``L2Loss`` without normalisation; the FitNets paper
writes ``1/2 * ||u - r(v)||^2``, the constant is absorbed in ``loss_weight``.

Arguments:
    loss_weight: factor applied to the loss.
    reduction: ``'mean'`` over every element or ``'sum'``.
"""
from __future__ import annotations

from torch import Tensor, nn

from kd.registry import MODELS

_REDUCTIONS = ('mean', 'sum')


@MODELS.register_module()
class FeatureMSELoss(nn.Module):
    """Mean (or summed) squared error between two features of the same shape.

    Args:
        loss_weight: factor applied to the loss.
        reduction: ``'mean'`` or ``'sum'``.
    """

    def __init__(self, loss_weight: float = 1.0, reduction: str = 'mean') -> None:
        super().__init__()
        if reduction not in _REDUCTIONS:
            raise ValueError(f'reduction must be one of {_REDUCTIONS}, got {reduction!r}')
        self.loss_weight = loss_weight
        self.reduction = reduction

    def forward(self, student: Tensor, teacher: Tensor, **kwargs) -> Tensor:
        """Compute the loss.

        Args:
            student: student feature (any shape).
            teacher: teacher feature of the same shape (treated as a constant).
        """
        if student.shape != teacher.shape:
            raise ValueError(f'FeatureMSELoss: student {tuple(student.shape)} and teacher '
                             f'{tuple(teacher.shape)} must have the same shape; add a '
                             f'connector (e.g. ConvConnector) to map the student.')
        squared = (student - teacher.detach()) ** 2
        loss = squared.sum() if self.reduction == 'sum' else squared.mean()
        return self.loss_weight * loss

    def extra_repr(self) -> str:
        return f'loss_weight={self.loss_weight}, reduction={self.reduction!r}'
