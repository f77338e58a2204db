"""Shallow-exit loss of self-distillation within one network (Zhang et al., ICCV 2019).

Paper:
    L. Zhang, J. Song, A. Gao, J. Chen, C. Bao, K. Ma. "Be Your Own Teacher:
    Improve the Performance of Convolutional Neural Networks via Self
    Distillation". ICCV 2019, arXiv:1905.08094.

Formula, for the logits ``s`` of a shallow exit, the deepest classifier's
logits ``t`` of the same network (a constant) and the labels ``y``
(``p = softmax(t / tau)``, ``q = softmax(s / tau)``)::

    L = loss_weight * ((1 - alpha) * CE(s, y) + alpha * tau**2 * mean_n KL(p || q))

The first two terms of the paper's loss (label supervision and KL to the
deepest softmax) for one shallow section; its third term, an L2 hint between
the exit's bottleneck feature and the deepest feature, is not part of this
loss (add a FitNets entry for it). ``tau**2`` keeps the gradient scale of the
soft term independent of the temperature, as in Hinton et al. Defaults
``alpha=0.3, tau=3`` are the values commonly used with the paper's CIFAR
ResNets.

Arguments:
    alpha: share of the KD term (``1 - alpha`` goes to the label term).
    tau: softmax temperature of the KD term.
    loss_weight: factor applied to the loss.

Labels come from ``data_samples`` (``gt_label``) or ``gt_labels=``.
"""
from __future__ import annotations

from typing import Any, Sequence

import torch.nn.functional as F
from torch import Tensor, nn

from kd.registry import MODELS

from ..utils import labels_from_data_samples


@MODELS.register_module()
class BYOTLoss(nn.Module):
    """Label cross-entropy plus KD from the deepest logits, for one shallow exit.

    Args:
        alpha: weight of the KD term; the label term gets ``1 - alpha``.
        tau: temperature of the KD term.
        loss_weight: factor applied to the loss.
    """

    def __init__(self, alpha: float = 0.3, tau: float = 3.0, loss_weight: float = 1.0) -> None:
        super().__init__()
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f'alpha must be in [0, 1], got {alpha}')
        if tau <= 0:
            raise ValueError(f'tau must be positive, got {tau}')
        self.alpha = alpha
        self.tau = tau
        self.loss_weight = loss_weight

    def forward(self, student: Tensor, teacher: Tensor,
                data_samples: Sequence[Any] | None = None, *,
                gt_labels: Tensor | None = None) -> Tensor:
        """Compute the loss.

        Args:
            student: exit logits ``(N, C)``.
            teacher: deepest logits ``(N, C)`` (treated as a constant).
            data_samples: samples carrying ``gt_label``.
            gt_labels: class indices ``(N,)`` instead of ``data_samples``.
        """
        if student.dim() != 2 or student.shape != teacher.shape:
            raise ValueError(f'BYOTLoss expects exit and deepest logits of the same shape '
                             f'(N, C), got {tuple(student.shape)} and {tuple(teacher.shape)}; '
                             'the exit connector must output one logit per class '
                             '(ExitClassifierConnector fills out_features from the teacher).')
        if gt_labels is None:
            if data_samples is None:
                raise ValueError('BYOTLoss needs labels: data_samples with gt_label, or '
                                 'gt_labels=')
            gt_labels = labels_from_data_samples(data_samples, student.device)
        ce = F.cross_entropy(student, gt_labels)
        log_q = F.log_softmax(student / self.tau, dim=1)
        p = F.softmax(teacher.detach() / self.tau, dim=1)
        kl = F.kl_div(log_q, p, reduction='batchmean') * self.tau ** 2
        return self.loss_weight * ((1 - self.alpha) * ce + self.alpha * kl)
