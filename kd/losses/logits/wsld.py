"""Weighted soft label distillation (Zhou et al., ICLR 2021).

Paper:
    H. Zhou, L. Song, J. Chen, Y. Zhou, G. Wang, J. Yuan, Q. Zhang.
    "Rethinking Soft Labels for Knowledge Distillation: A Bias-Variance
    Tradeoff Perspective". ICLR 2021, arXiv:2102.00650.

Formula (per sample ``n`` with label ``y``; ``CE_s = -log softmax(z_s)_y`` and
``CE_t = -log softmax(z_t)_y`` at temperature 1, both without gradient)::

    w_n = 1 - exp(-max(CE_s / (CE_t + 1e-7), 0))
    L = loss_weight * tau**2 * mean_n w_n * KL(softmax(z_t / tau) || softmax(z_s / tau))

Reference implementation: the authors' ``WSLDistiller``
(``bellymonster/Weighted-Soft-Label-Distillation``, ``wsl.py``): same weight,
``1e-7`` and clamp at zero, ``tau**2`` and batch mean; default ``tau = 2``.
That code writes the soft term as the cross-entropy ``-sum p_t log p_s``; the
KL used here differs from it by ``w_n * H(p_t)``, which does not depend on the
student, so the gradients are the same and the loss is zero when the student
matches the teacher. The authors' ``alpha`` (2.25 on CIFAR, 2.5 on ImageNet)
is ``loss_weight`` here; the hard-label CE is the student's own loss.

Arguments:
    tau: softmax temperature of the soft labels.
    loss_weight: factor applied to the loss (the paper's ``alpha``).
    num_classes: expected number of classes; if set, logits with another
        class count are rejected.

Labels: ``data_samples`` (``gt_label`` or ``'label'`` per sample) or ``gt_labels=``.
"""
from __future__ import annotations

from typing import Any, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from kd.registry import MODELS

from ..utils import check_logits, float_dtype, resolve_labels

_EPS = 1e-7


@MODELS.register_module()
class WSLDLoss(nn.Module):
    """Soft-label KL weighted per sample by the student/teacher CE ratio.

    Args:
        tau: softmax temperature.
        loss_weight: factor applied to the loss.
        num_classes: expected class count (None: any).
    """

    def __init__(self, tau: float = 2.0, loss_weight: float = 1.0,
                 num_classes: int | None = None) -> None:
        super().__init__()
        if tau <= 0:
            raise ValueError(f'tau must be positive, got {tau}')
        self.tau = tau
        self.loss_weight = loss_weight
        self.num_classes = num_classes

    def forward(self, student: Tensor, teacher: Tensor,
                data_samples: Sequence[Any] | None = None, *,
                gt_labels: Tensor | None = None) -> Tensor:
        """Compute the loss.

        Args:
            student: student logits ``(N, C)``.
            teacher: teacher logits ``(N, C)`` (treated as a constant).
            data_samples: the batch's samples carrying the labels.
            gt_labels: labels ``(N,)``, instead of ``data_samples``.
        """
        check_logits('WSLDLoss', student, teacher)
        if self.num_classes is not None and student.shape[1] != self.num_classes:
            raise ValueError(f'WSLDLoss: num_classes={self.num_classes} but logits have '
                             f'shape {tuple(student.shape)}')
        labels = resolve_labels('WSLDLoss', student, data_samples, gt_labels)
        dtype = float_dtype(student)
        s = student.to(dtype)
        t = teacher.detach().to(dtype)

        log_q = F.log_softmax(s / self.tau, dim=1)
        log_p = F.log_softmax(t / self.tau, dim=1)
        kl = (log_p.exp() * (log_p - log_q)).sum(dim=1)

        with torch.no_grad():
            index = labels[:, None]
            ce_s = -F.log_softmax(s.detach(), dim=1).gather(1, index).squeeze(1)
            ce_t = -F.log_softmax(t, dim=1).gather(1, index).squeeze(1)
            weight = 1 - torch.exp(-(ce_s / (ce_t + _EPS)).clamp(min=0))

        loss = self.tau**2 * (weight * kl).mean()
        return self.loss_weight * loss

    def extra_repr(self) -> str:
        return (f'tau={self.tau}, loss_weight={self.loss_weight}, '
                f'num_classes={self.num_classes}')
