"""Soft-label distillation of a dense detector's sigmoid classification outputs.

Dense one-stage heads (RetinaNet, FCOS, ATSS, GFL) score every anchor/location
and class with an independent sigmoid.  The teacher's probabilities become soft
binary targets for the student, weighted in the manner of Quality Focal Loss
(Li et al., "Generalized Focal Loss", NeurIPS 2020), which LD and other dense
distillation methods use to keep the ~all-background locations from drowning the
few informative ones:

    p_t = σ(t / τ),  p_s = σ(s / τ)
    L   = loss_weight · τ² · Σ |p_t − p_s|^γ · BCE(p_s, p_t) / max(Σ p_t, 1)

The sum runs over every level, image, anchor, class and location; the
normaliser (the teacher's total foreground mass) plays the role of the number
of positive anchors in focal loss, so the loss scale does not depend on the
image size or the number of anchors.

Args:
    tau: temperature applied to both logits.
    gamma: focusing exponent (0: plain soft-target BCE; 2: QFL-style).
    loss_weight: factor applied to the loss.

Inputs are raw logits of one level ``(N, A·C, H, W)`` or a list of levels (use
``levelwise=False`` in the distill entry so the normaliser spans all levels).
"""
from __future__ import annotations

from typing import Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from kd.registry import MODELS

Levels = Union[torch.Tensor, Sequence[torch.Tensor]]


@MODELS.register_module()
class DenseHeadKDLoss(nn.Module):
    """QFL-weighted soft-target BCE on sigmoid classification logits (see module doc)."""

    def __init__(self, tau: float = 1.0, gamma: float = 2.0, loss_weight: float = 1.0) -> None:
        super().__init__()
        if tau <= 0:
            raise ValueError(f'tau must be positive, got {tau}')
        if gamma < 0:
            raise ValueError(f'gamma must be >= 0, got {gamma}')
        self.tau = tau
        self.gamma = gamma
        self.loss_weight = loss_weight

    def forward(self, student: Levels, teacher: Levels) -> torch.Tensor:
        s_levels = [student] if isinstance(student, torch.Tensor) else list(student)
        t_levels = [teacher] if isinstance(teacher, torch.Tensor) else list(teacher)
        if len(s_levels) != len(t_levels):
            raise ValueError(f'DenseHeadKDLoss: {len(s_levels)} student levels vs '
                             f'{len(t_levels)} teacher levels')
        total = s_levels[0].new_zeros(())
        mass = s_levels[0].new_zeros(())
        for s, t in zip(s_levels, t_levels):
            if s.shape != t.shape:
                raise ValueError(f'DenseHeadKDLoss: student logits {tuple(s.shape)} and teacher '
                                 f'logits {tuple(t.shape)} differ; the heads must share anchors '
                                 'and classes (same strides, anchor settings and num_classes).')
            t = t.detach().float()
            s = s.float()
            p_t = torch.sigmoid(t / self.tau)
            p_s = torch.sigmoid(s / self.tau)
            bce = F.binary_cross_entropy_with_logits(s / self.tau, p_t, reduction='none')
            weight = (p_t - p_s).abs().pow(self.gamma) if self.gamma else 1.0
            total = total + (weight * bce).sum()
            mass = mass + torch.sigmoid(t).sum()
        return self.loss_weight * self.tau ** 2 * total / mass.clamp(min=1.0)

    def extra_repr(self) -> str:
        return f'tau={self.tau}, gamma={self.gamma}, loss_weight={self.loss_weight}'
