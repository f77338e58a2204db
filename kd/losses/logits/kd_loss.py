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
    logit_stand: Z-score both logits over the classes before the softmax
        (logit standardization, Sun et al. CVPR 2024; see
        :mod:`kd.losses.logits.logit_stand`): ``p = softmax(Z(t) / T)``,
        ``q = softmax(Z(s) / T)`` and the factor ``T**2``, ``T = base_temp``.
    base_temp: the temperature used with ``logit_stand`` (default: ``tau``); the
        official CIFAR-100 runs use 2 (3 for VGG-13 -> VGG-8) with loss weight 9.

Logits are ``(N, C)`` or ``(N, C, *extra)`` with the class dimension 1 (e.g. a
dense classification map); the extra dimensions are treated as more samples.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from kd.registry import MODELS

from .logit_stand import resolve_temperature, standardize_logits

_REDUCTIONS = ('batchmean', 'sum', 'mean', 'none')


@MODELS.register_module()
class KDLoss(nn.Module):
    """Temperature-scaled KL divergence from teacher to student logits.

    Args:
        tau: softmax temperature.
        loss_weight: factor applied to the loss.
        reduction: ``'batchmean'``, ``'sum'``, ``'mean'`` or ``'none'``.
        teacher_detach: stop gradients into the teacher logits.
        logit_stand: standardize both logits (Z-score over the classes) first.
        base_temp: temperature with ``logit_stand`` (default ``tau``).
    """

    def __init__(self, tau: float = 1.0, loss_weight: float = 1.0,
                 reduction: str = 'batchmean', teacher_detach: bool = True,
                 logit_stand: bool = False, base_temp: float | None = None) -> None:
        super().__init__()
        if tau <= 0:
            raise ValueError(f'tau must be positive, got {tau}')
        self.temperature = resolve_temperature('KDLoss', tau, logit_stand, base_temp)
        self.logit_stand = bool(logit_stand)
        self.base_temp = base_temp
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
        if self.teacher_detach:
            teacher = teacher.detach()
        student, teacher = student.to(dtype), teacher.to(dtype)
        if self.logit_stand:
            student, teacher = standardize_logits(student), standardize_logits(teacher)
        temp = self.temperature
        log_q = F.log_softmax(student.movedim(1, -1) / temp, dim=-1)
        log_p = F.log_softmax(teacher.movedim(1, -1) / temp, dim=-1)
        per_sample = (log_p.exp() * (log_p - log_q)).sum(dim=-1) * temp**2
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
        text = (f'tau={self.tau}, loss_weight={self.loss_weight}, '
                f'reduction={self.reduction!r}, teacher_detach={self.teacher_detach}')
        if self.logit_stand:
            text += f', logit_stand=True, base_temp={self.temperature}'
        return text
