"""Inter-Channel Correlation KD (Liu et al., ICCV 2021).

Paper:
    L. Liu, Q. Huang, S. Lin, H. Xie, B. Wang, X. Chang, X. Liang. "Exploring
    Inter-Channel Correlation for Diversity-preserved Knowledge Distillation".
    ICCV 2021.

Formula: with ``F`` the feature flattened to (N, C, H*W), the inter-channel
correlation of a sample is its channel Gram matrix ``G = F F^T`` (C x C),
each row L2-normalised, ``Ĝ[i, :] = G[i, :] / ||G[i, :]||_2``::

    L = loss_weight * 1 / (N * C) * sum_{n, i, j} (Ĝ_s[n, i, j] - Ĝ_t[n, i, j])**2

Reference implementation: ``ICKDLoss.batch_loss`` of ADLab-AutoDrive/ICKD
(``Cifar100/distiller_zoo/ICKD.py``): ``bmm(f, f^T)``, ``F.normalize(G, dim=2)``
(row-wise, ``eps=1e-12``), ``sum / (ch * bsz)``. Their normalisation choice,
kept here: the Gram matrix is *row-normalised* rather than divided by
``H*W`` — any scale such as ``1 / (H*W)`` cancels in the row normalisation,
so each row is a unit vector and the value does not grow with the feature
magnitude or the spatial size — and the squared differences are summed over
the ``C x C`` entries but divided only by ``N * C`` (``C`` times their mean).
The reference passes the student through an ``Embed`` (1x1 conv + BatchNorm)
first; here that is a connector:
``connector=dict(type='ConvConnector', norm='bn', bias=False)``.
The channel counts must match; the spatial sizes may differ (the Gram matrix
is C x C whatever H and W are).

Arguments:
    loss_weight: factor applied to the loss.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from kd.registry import MODELS


def channel_correlation(feature: Tensor) -> Tensor:
    """``(N, C, *spatial)`` -> row-L2-normalised ``(N, C, C)`` channel Gram matrix."""
    flat = feature.flatten(2)
    return F.normalize(torch.bmm(flat, flat.transpose(1, 2)), dim=2)


@MODELS.register_module()
class ICKDLoss(nn.Module):
    """Squared difference of row-normalised channel Gram matrices, / (N * C).

    Args:
        loss_weight: factor applied to the loss.
    """

    def __init__(self, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, student: Tensor, teacher: Tensor, **kwargs) -> Tensor:
        """Compute the loss.

        Args:
            student: student feature ``(N, C, H, W)`` (or ``(N, C, *spatial)``).
            teacher: teacher feature ``(N, C, H', W')`` with the same ``N`` and
                ``C`` (treated as a constant).
        """
        if student.dim() < 3 or teacher.dim() < 3:
            raise ValueError(f'ICKDLoss expects (N, C, H, W) features, got student '
                             f'{tuple(student.shape)} and teacher {tuple(teacher.shape)}')
        if student.shape[:2] != teacher.shape[:2]:
            raise ValueError(f'ICKDLoss: student {tuple(student.shape)} and teacher '
                             f'{tuple(teacher.shape)} must have the same batch size and '
                             f'channels; add a connector (e.g. ConvConnector) to map the '
                             f'student channels.')
        n, c = student.shape[:2]
        dtype = torch.promote_types(student.dtype, torch.float32)  # fp16 -> fp32
        diff = (channel_correlation(student.to(dtype))
                - channel_correlation(teacher.detach().to(dtype)))
        return self.loss_weight * diff.pow(2).sum() / (n * c)

    def extra_repr(self) -> str:
        return f'loss_weight={self.loss_weight}'
