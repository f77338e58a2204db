"""Channel-wise distillation for dense prediction (Shu et al., ICCV 2021).

Paper:
    C. Shu, Y. Liu, J. Gao, Z. Yan, C. Shen. "Channel-wise Knowledge
    Distillation for Dense Prediction". ICCV 2021, arXiv:2011.13256.

Formula: each channel ``c`` of sample ``n`` becomes a distribution over its
``H*W`` locations, ``p = softmax(t[n, c] / tau)``, ``q = softmax(s[n, c] / tau)``::

    L = loss_weight * tau**2 / (N * C) * sum_{n, c} sum_{hw} p_hw (log p_hw - log q_hw)

Reference implementation: the authors' ``ChannelWiseDivergence`` as released
in MMRazor (``sum(p * log p - p * log q) * tau**2 / (C * N)``).

Arguments:
    tau: softmax temperature over the spatial locations.
    loss_weight: factor applied to the loss.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from kd.registry import MODELS


@MODELS.register_module()
class ChannelWiseDivergence(nn.Module):
    """KL divergence between per-channel spatial distributions.

    Args:
        tau: softmax temperature.
        loss_weight: factor applied to the loss.
    """

    def __init__(self, tau: float = 1.0, loss_weight: float = 1.0) -> None:
        super().__init__()
        if tau <= 0:
            raise ValueError(f'tau must be positive, got {tau}')
        self.tau = tau
        self.loss_weight = loss_weight

    def forward(self, student: Tensor, teacher: Tensor, **kwargs) -> Tensor:
        """Compute the loss.

        Args:
            student: student feature ``(N, C, H, W)`` (or ``(N, C, *spatial)``).
            teacher: teacher feature of the same shape (treated as a constant).
        """
        if student.shape != teacher.shape:
            raise ValueError(f'ChannelWiseDivergence: student {tuple(student.shape)} and '
                             f'teacher {tuple(teacher.shape)} must have the same shape; add '
                             f'a connector (ConvConnector for channels, ResizeConnector for '
                             f'H, W).')
        if student.dim() < 3:
            raise ValueError(f'ChannelWiseDivergence expects (N, C, H, W), got '
                             f'{tuple(student.shape)}')
        n, c = student.shape[:2]
        dtype = torch.promote_types(student.dtype, torch.float32)  # fp16 -> fp32
        log_q = F.log_softmax(student.to(dtype).flatten(2) / self.tau, dim=-1)
        log_p = F.log_softmax(teacher.detach().to(dtype).flatten(2) / self.tau, dim=-1)
        loss = (log_p.exp() * (log_p - log_q)).sum() * self.tau**2 / (n * c)
        return self.loss_weight * loss

    def extra_repr(self) -> str:
        return f'tau={self.tau}, loss_weight={self.loss_weight}'
