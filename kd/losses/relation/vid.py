"""Variational information distillation (Ahn et al., CVPR 2019).

Paper:
    S. Ahn, S. X. Hu, A. Damianou, N. D. Lawrence, Z. Dai. "Variational
    Information Distillation for Knowledge Transfer". CVPR 2019, arXiv:1904.05835.

Formula (a Gaussian ``q(t | s)`` with mean ``mu = r(s)`` from a 1x1-conv
regressor and a learned variance per teacher channel,
``sigma_c**2 = softplus(log_scale_c) + eps``)::

    L = loss_weight * mean_{n, c, h, w} 0.5 * ((mu - t)**2 / sigma_c**2 + log sigma_c**2)

i.e. the negative log-likelihood of the teacher feature up to a constant.

Reference implementation: RepDistiller's ``VIDLoss``
(``HobbitLong/RepDistiller``, ``distiller_zoo/VID.py``): regressor
``conv1x1(in, mid) -> ReLU -> conv1x1(mid, mid) -> ReLU -> conv1x1(mid, out)``
without biases, ``log_scale`` initialised to ``log(exp(init_pred_var - eps) - 1)``
so that the initial variance is ``init_pred_var``, a spatial adaptive average
pooling of the larger feature to the smaller size, and the mean over every
element. RepDistiller uses ``mid_channels = out_channels`` (the default here).

Arguments:
    in_channels: channels of the student feature (required).
    mid_channels: channels of the regressor's hidden layers (default
        ``out_channels``).
    out_channels: channels of the teacher feature (required).
    init_pred_var: initial variance of the Gaussian.
    eps: variance floor.
    loss_weight: factor applied to the loss.

Features are ``(N, C, H, W)`` or ``(N, C)`` (treated as ``1 x 1`` maps). The
regressor and ``log_scale`` are trainable: the distiller trains them with the
student.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from kd.registry import MODELS

from ..utils import float_dtype
from .irg import pool_to
from .sp import check_batch


def _as_map(x: Tensor) -> Tensor:
    return x[:, :, None, None] if x.dim() == 2 else x


@MODELS.register_module()
class VIDLoss(nn.Module):
    """Gaussian likelihood of the teacher feature under a regressed student mean.

    Args:
        in_channels: student channels.
        mid_channels: hidden channels of the regressor (default ``out_channels``).
        out_channels: teacher channels.
        init_pred_var: initial variance.
        eps: variance floor.
        loss_weight: factor applied to the loss.
    """

    # Maps the student to the teacher's width with its own layers, so student and
    # teacher records may differ in shape: the distiller skips its same-shape check.
    shape_check = 'none'

    def __init__(self, in_channels: int | None = None, mid_channels: int | None = None,
                 out_channels: int | None = None, init_pred_var: float = 5.0,
                 eps: float = 1e-5, loss_weight: float = 1.0) -> None:
        super().__init__()
        if in_channels is None or out_channels is None:
            raise ValueError(
                f'VIDLoss needs in_channels (student channels) and out_channels (teacher '
                f'channels), got in_channels={in_channels}, out_channels={out_channels}; '
                "e.g. loss=dict(type='VIDLoss', in_channels=64, out_channels=256).")
        if init_pred_var <= eps:
            raise ValueError(f'init_pred_var ({init_pred_var}) must exceed eps ({eps})')
        mid_channels = out_channels if mid_channels is None else mid_channels
        self.in_channels = in_channels
        self.mid_channels = mid_channels
        self.out_channels = out_channels
        self.eps = eps
        self.loss_weight = loss_weight
        self.regressor = nn.Sequential(
            nn.Conv2d(in_channels, mid_channels, 1, bias=False),
            nn.ReLU(),
            nn.Conv2d(mid_channels, mid_channels, 1, bias=False),
            nn.ReLU(),
            nn.Conv2d(mid_channels, out_channels, 1, bias=False),
        )
        init = math.log(math.expm1(init_pred_var - eps))  # softplus^-1
        self.log_scale = nn.Parameter(torch.full((out_channels, ), init))

    def variance(self) -> Tensor:
        """The per-channel variance ``softplus(log_scale) + eps``: ``(out_channels,)``."""
        return F.softplus(self.log_scale) + self.eps

    def forward(self, student: Tensor, teacher: Tensor, **kwargs) -> Tensor:
        """Compute the loss.

        Args:
            student: student feature ``(N, in_channels, H, W)`` or ``(N, in_channels)``.
            teacher: teacher feature ``(N, out_channels, H', W')`` or
                ``(N, out_channels)`` (treated as a constant).
        """
        check_batch('VIDLoss', student, teacher)
        s, t = _as_map(student), _as_map(teacher.detach())
        if s.dim() != 4 or t.dim() != 4 or s.shape[1] != self.in_channels \
                or t.shape[1] != self.out_channels:
            raise ValueError(
                f'VIDLoss(in_channels={self.in_channels}, out_channels={self.out_channels}): '
                f'got student {tuple(student.shape)} and teacher {tuple(teacher.shape)}; '
                'expected (N, in_channels[, H, W]) and (N, out_channels[, H, W]).')
        size = (min(s.shape[2], t.shape[2]), min(s.shape[3], t.shape[3]))
        s, t = pool_to(s, size), pool_to(t, size)
        if s.device.type == 'cpu':
            # oneDNN's backward of narrow 1x1 convolutions (16-64 channels) is several
            # times faster in channels-last layout on the CPU (same arithmetic)
            s = s.contiguous(memory_format=torch.channels_last)
        mean = self.regressor(s)
        dtype = float_dtype(mean)
        var = self.variance().to(dtype)
        # mean_{n,c,h,w} 0.5 (d**2 / var_c + log var_c), with the squared error summed per
        # channel first: one pass over the feature instead of one per operation
        sq = (mean.to(dtype) - t.to(dtype)).pow(2).sum(dim=(0, 2, 3))
        per_channel = mean.numel() // mean.shape[1]
        nll = 0.5 * ((sq / var).sum() / (per_channel * var.numel()) + var.log().mean())
        return self.loss_weight * nll

    def extra_repr(self) -> str:
        return (f'in_channels={self.in_channels}, mid_channels={self.mid_channels}, '
                f'out_channels={self.out_channels}, eps={self.eps}, '
                f'loss_weight={self.loss_weight}')
