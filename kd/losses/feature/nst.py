"""Neuron Selectivity Transfer (Huang & Wang, 2017).

Paper:
    Z. Huang, N. Wang. "Like What You Like: Knowledge Distill via Neuron
    Selectivity Transfer". arXiv:1707.01219, 2017.

Formula: each channel of a sample is one point, its spatial map flattened and
L2-normalised, ``x_i = f[n, i] / ||f[n, i]||`` (length H*W). The loss is the
squared maximum mean discrepancy between the teacher's and the student's
channels, per sample, with kernel ``k`` (``'poly'``: ``k(x, y) = (x^T y)**2``,
``'linear'``: ``x^T y``)::

    L = loss_weight * (mean_{n,i,j} k(t_i, t_j) + mean_{n,i,j} k(s_i, s_j)
                       - 2 * mean_{n,i,j} k(s_i, t_j))

Reference implementation: ``NSTLoss.nst_loss`` of HobbitLong/RepDistiller
(``full_loss=True``): ``F.normalize`` over the flattened spatial dim, the
polynomial kernel of degree 2 with ``c = 0`` as in the paper's best setting,
each kernel matrix (N, C_a, C_b) averaged over all its entries. RepDistiller's
CIFAR recipe weights it by ``beta = 50`` (``loss_weight=50.``). Unequal
spatial sizes raise an error here instead of being average-pooled (add a
ResizeConnector); the channel counts of student and teacher may differ.

Arguments:
    kernel: ``'poly'`` (the paper's and the reference's choice) or ``'linear'``.
    loss_weight: factor applied to the loss.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from kd.registry import MODELS

_KERNELS = ('poly', 'linear')


@MODELS.register_module()
class NSTLoss(nn.Module):
    """Squared MMD between the L2-normalised channel maps of two features.

    Args:
        kernel: ``'poly'`` (``(x^T y)**2``) or ``'linear'`` (``x^T y``).
        loss_weight: factor applied to the loss.
    """

    # Channels may differ (checked in forward): the distiller skips its same-shape check.
    shape_check = 'none'

    def __init__(self, kernel: str = 'poly', loss_weight: float = 1.0) -> None:
        super().__init__()
        if kernel not in _KERNELS:
            raise ValueError(f'kernel must be one of {_KERNELS}, got {kernel!r}')
        self.kernel = kernel
        self.loss_weight = loss_weight

    def kernel_mean(self, a: Tensor, b: Tensor) -> Tensor:
        """Mean of ``k(a[n, i], b[n, j])`` over ``n, i, j`` for (N, C, D) inputs."""
        dots = torch.bmm(a, b.transpose(1, 2))
        return (dots.pow(2) if self.kernel == 'poly' else dots).mean()

    def forward(self, student: Tensor, teacher: Tensor, **kwargs) -> Tensor:
        """Compute the loss.

        Args:
            student: student feature ``(N, C_s, H, W)``.
            teacher: teacher feature ``(N, C_t, H, W)``; ``C_t`` may differ
                from ``C_s`` (treated as a constant).
        """
        if student.dim() < 3 or teacher.dim() != student.dim():
            raise ValueError(f'NSTLoss expects (N, C, H, W) features, got student '
                             f'{tuple(student.shape)} and teacher {tuple(teacher.shape)}')
        if student.shape[0] != teacher.shape[0] or student.shape[2:] != teacher.shape[2:]:
            raise ValueError(f'NSTLoss: student {tuple(student.shape)} and teacher '
                             f'{tuple(teacher.shape)} must have the same batch size and '
                             f'spatial size (channels may differ); add a ResizeConnector '
                             f'to match H, W.')
        dtype = torch.promote_types(student.dtype, torch.float32)  # fp16 -> fp32
        s = F.normalize(student.to(dtype).flatten(2), dim=2)
        t = F.normalize(teacher.detach().to(dtype).flatten(2), dim=2)
        loss = self.kernel_mean(t, t) + self.kernel_mean(s, s) - 2 * self.kernel_mean(s, t)
        return self.loss_weight * loss

    def extra_repr(self) -> str:
        return f'kernel={self.kernel!r}, loss_weight={self.loss_weight}'
