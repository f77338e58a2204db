"""Vanilla knowledge distillation of logits (Hinton et al., 2015).

Paper:
    G. Hinton, O. Vinyals, J. Dean. "Distilling the Knowledge in a Neural
    Network". NIPS 2014 Deep Learning Workshop, arXiv:1503.02531.

Formula (per sample, classes ``c``; ``p = softmax(t / tau)``, ``q = softmax(s / tau)``)::

    L = loss_weight * tau**2 * KL(p || q) = loss_weight * tau**2 * sum_c p_c (log p_c - log q_c)

The ``tau**2`` factor keeps the gradient magnitude independent of ``tau``.

Reference implementation: mdistiller's ``kd_loss``
(``F.kl_div(log_softmax(s/tau), softmax(t/tau), reduction='none').sum(1).mean() * tau**2``,
i.e. ``reduction='batchmean'``) and MMRazor's ``KLDivergence`` (same reductions as
:func:`torch.nn.functional.kl_div`).

Arguments:
    tau: softmax temperature ``tau > 0`` applied to both logits.
    loss_weight: factor applied to the loss.
    reduction: ``'batchmean'`` (sum over classes, mean over samples; the
        paper's loss), ``'sum'`` (sum over samples), ``'mean'`` (mean over every
        sample-class element, as ``F.kl_div(reduction='mean')``: ``batchmean / C``)
        or ``'none'`` (per-sample loss of shape ``(N, *extra)``).
    teacher_detach: treat the teacher logits as a constant (default). ``False``
        lets gradients flow into the teacher side too, for online / mutual
        distillation where both networks train.

Logits are ``(N, C)`` or ``(N, C, *extra)`` with the class dimension 1 (e.g. a
dense classification map); the extra dimensions are treated as more samples.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from kd.registry import MODELS

_REDUCTIONS = ('batchmean', 'sum', 'mean', 'none')


@MODELS.register_module()
class KDLoss(nn.Module):
    """Temperature-scaled KL divergence from teacher to student logits.

    Args:
        tau: softmax temperature.
        loss_weight: factor applied to the loss.
        reduction: ``'batchmean'``, ``'sum'``, ``'mean'`` or ``'none'``.
        teacher_detach: stop gradients into the teacher logits.
    """

    def __init__(self, tau: float = 1.0, loss_weight: float = 1.0,
                 reduction: str = 'batchmean', teacher_detach: bool = True) -> None:
        super().__init__()
        if tau <= 0:
            raise ValueError(f'tau must be positive, got {tau}')
        if reduction not in _REDUCTIONS:
            raise ValueError(f'reduction must be one of {_REDUCTIONS}, got {reduction!r}')
        self.tau = tau
        self.loss_weight = loss_weight
        self.reduction = reduction
        self.teacher_detach = teacher_detach

    def forward(self, student: Tensor, teacher: Tensor, **kwargs) -> Tensor:
        """Compute the loss.

        Args:
            student: student logits ``(N, C, *extra)``.
            teacher: teacher logits of the same shape (a constant unless
                ``teacher_detach=False``).

        Returns:
            A scalar, or the per-sample loss ``(N, *extra)`` for ``'none'``.
        """
        if student.shape != teacher.shape:
            raise ValueError(f'KDLoss: student logits {tuple(student.shape)} and teacher '
                             f'logits {tuple(teacher.shape)} must have the same shape.')
        if student.dim() < 2:
            raise ValueError(f'KDLoss expects logits (N, C, ...), got {tuple(student.shape)}')
        num_classes = student.shape[1]
        dtype = torch.promote_types(student.dtype, torch.float32)  # fp16 -> fp32
        log_q = F.log_softmax(student.to(dtype).movedim(1, -1) / self.tau, dim=-1)
        if self.teacher_detach:
            teacher = teacher.detach()
        log_p = F.log_softmax(teacher.to(dtype).movedim(1, -1) / self.tau, dim=-1)
        per_sample = (log_p.exp() * (log_p - log_q)).sum(dim=-1) * self.tau**2
        if self.reduction == 'none':
            loss = per_sample
        elif self.reduction == 'sum':
            loss = per_sample.sum()
        elif self.reduction == 'batchmean':
            loss = per_sample.mean()
        else:
            loss = per_sample.mean() / num_classes
        return self.loss_weight * loss

    def extra_repr(self) -> str:
        return (f'tau={self.tau}, loss_weight={self.loss_weight}, '
                f'reduction={self.reduction!r}, teacher_detach={self.teacher_detach}')
