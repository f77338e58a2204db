"""Attention Transfer (Zagoruyko & Komodakis, ICLR 2017).

Paper:
    S. Zagoruyko, N. Komodakis. "Paying More Attention to Attention: Improving
    the Performance of Convolutional Neural Networks via Attention Transfer".
    ICLR 2017, arXiv:1612.03928.

Formula: the spatial attention map of a feature ``f`` (N, C, H, W) is
``a(f) = normalize_L2(mean_c |f_c|**p)`` flattened to (N, H*W), per sample::

    L = loss_weight * 1 / (N * H * W) * sum_{n, hw} (a(s)[n, hw] - a(t)[n, hw])**2

Reference implementation: ``Attention.at_loss`` of HobbitLong/RepDistiller
(``(at(f_s) - at(f_t)).pow(2).mean()`` with ``at(f) = F.normalize(f.pow(p)
.mean(1).view(N, -1))``): the squared difference is *averaged* over the
``N * H * W`` entries, not summed per sample as the paper's
``||a_s - a_t||_p`` norm is written. That mean makes the value small;
RepDistiller's CIFAR recipe therefore weights it by ``beta = 1000``
(``loss_weight=1000.``). Differences: the paper's ``|f|**p`` is used (identical
to RepDistiller's ``f.pow(p)`` for the default even ``p``), and unequal spatial
sizes raise an error instead of being average-pooled (add a ResizeConnector).
The channel counts of student and teacher may differ: the attention map has no
channel dimension, so AT needs no channel connector.

Arguments:
    p: exponent applied to ``|f|`` before the mean over channels.
    loss_weight: factor applied to the loss.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from kd.registry import MODELS


@MODELS.register_module()
class ATLoss(nn.Module):
    """Mean squared difference of L2-normalised spatial attention maps.

    Args:
        p: exponent of ``|f|`` in the attention map (the paper uses 2).
        loss_weight: factor applied to the loss.
    """

    # Channels may differ (checked in forward): the distiller skips its same-shape check.
    shape_check = 'none'

    def __init__(self, p: float = 2, loss_weight: float = 1.0) -> None:
        super().__init__()
        if p <= 0:
            raise ValueError(f'p must be positive, got {p}')
        self.p = p
        self.loss_weight = loss_weight

    def attention(self, feature: Tensor) -> Tensor:
        """``(N, C, *spatial)`` -> L2-normalised ``(N, prod(spatial))`` attention map."""
        dtype = torch.promote_types(feature.dtype, torch.float32)  # fp16 -> fp32
        return F.normalize(feature.to(dtype).abs().pow(self.p).mean(1).flatten(1), dim=1)

    def forward(self, student: Tensor, teacher: Tensor, **kwargs) -> Tensor:
        """Compute the loss.

        Args:
            student: student feature ``(N, C_s, H, W)``.
            teacher: teacher feature ``(N, C_t, H, W)``; ``C_t`` may differ from
                ``C_s`` (treated as a constant).
        """
        if student.dim() < 3 or teacher.dim() != student.dim():
            raise ValueError(f'ATLoss expects (N, C, H, W) features, got student '
                             f'{tuple(student.shape)} and teacher {tuple(teacher.shape)}')
        if student.shape[0] != teacher.shape[0] or student.shape[2:] != teacher.shape[2:]:
            raise ValueError(f'ATLoss: student {tuple(student.shape)} and teacher '
                             f'{tuple(teacher.shape)} must have the same batch size and '
                             f'spatial size (channels may differ); add a ResizeConnector '
                             f'to match H, W.')
        diff = self.attention(student) - self.attention(teacher.detach())
        return self.loss_weight * diff.pow(2).mean()

    def extra_repr(self) -> str:
        return f'p={self.p}, loss_weight={self.loss_weight}'
