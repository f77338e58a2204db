"""Relational knowledge distillation (Park et al., CVPR 2019).

Paper:
    W. Park, D. Kim, Y. Lu, M. Cho. "Relational Knowledge Distillation".
    CVPR 2019, arXiv:1904.05068.

Formula (features flattened to ``(N, D)``; ``d_ij = ||e_i - e_j||`` divided by
the mean of the non-zero ``d_ij``; ``a_ijk = cos`` of the angle at ``e_i``
between ``e_j - e_i`` and ``e_k - e_i``, zero when a difference is zero;
``huber`` the smooth-L1 with threshold 1, averaged over all ``N**2`` / ``N**3`` entries)::

    L = loss_weight * (w_dist * huber(d_s, d_t) + w_angle * huber(a_s, a_t))

Reference implementation: RepDistiller's ``RKDLoss``
(``HobbitLong/RepDistiller``, ``distiller_zoo/RKD.py``, after the authors'
``lenscloth/RKD``): squared distances from ``|a|^2 + |b|^2 - 2ab`` clamped at
``eps`` before the square root, diagonal set to zero, normalised by the mean
of the positive entries; angles from ``F.normalize`` of the difference vectors;
``F.smooth_l1_loss`` with mean reduction; defaults ``w_dist = 25``, ``w_angle = 50``.

Arguments:
    w_dist: weight of the distance-wise term.
    w_angle: weight of the angle-wise term.
    eps: lower clamp of the squared distances (keeps ``sqrt`` differentiable).
    loss_weight: factor applied to the loss.

The features need the same batch size only (``D`` may differ). A batch of one
sample has no relation and gives zero.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from kd.registry import MODELS

from ..utils import float_dtype
from .sp import check_batch


def normalised_distances(embed: Tensor, eps: float) -> Tensor:
    """Pairwise Euclidean distances ``(N, N)`` divided by their mean positive value."""
    square = embed.pow(2).sum(dim=1)
    dist = (square[:, None] + square[None, :] - 2 * embed @ embed.t()).clamp(min=eps).sqrt()
    eye = torch.eye(len(embed), dtype=torch.bool, device=embed.device)
    dist = dist.masked_fill(eye, 0)
    positive = dist[dist > 0]
    if positive.numel() == 0:
        return dist
    return dist / positive.mean()


def triplet_angles(embed: Tensor) -> Tensor:
    """``[i, j, k] = cos`` of the angle at ``e_i`` between ``e_j`` and ``e_k``: ``(N, N, N)``."""
    diff = F.normalize(embed[None, :, :] - embed[:, None, :], p=2, dim=2)
    return diff @ diff.transpose(1, 2)


@MODELS.register_module()
class RKDLoss(nn.Module):
    """Distance-wise and angle-wise relational distillation.

    Args:
        w_dist: weight of the distance term.
        w_angle: weight of the angle term.
        eps: clamp of the squared distances.
        loss_weight: factor applied to the loss.
    """

    # Compares relations within each side, so student and teacher records may
    # differ in shape: the distiller skips its same-shape check.
    shape_check = 'none'

    def __init__(self, w_dist: float = 25.0, w_angle: float = 50.0, eps: float = 1e-12,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        self.w_dist = w_dist
        self.w_angle = w_angle
        self.eps = eps
        self.loss_weight = loss_weight

    def forward(self, student: Tensor, teacher: Tensor, **kwargs) -> Tensor:
        """Compute the loss.

        Args:
            student: student embeddings ``(N, ...)``.
            teacher: teacher embeddings ``(N, ...)`` (treated as a constant).
        """
        check_batch('RKDLoss', student, teacher)
        n = student.shape[0]
        dtype = float_dtype(student)
        s = student.to(dtype).reshape(n, -1)
        t = teacher.detach().to(dtype).reshape(n, -1)
        loss = s.new_zeros(())
        if self.w_dist:
            loss = loss + self.w_dist * F.smooth_l1_loss(
                normalised_distances(s, self.eps), normalised_distances(t, self.eps))
        if self.w_angle:
            loss = loss + self.w_angle * F.smooth_l1_loss(triplet_angles(s),
                                                          triplet_angles(t))
        return self.loss_weight * loss

    def extra_repr(self) -> str:
        return (f'w_dist={self.w_dist}, w_angle={self.w_angle}, eps={self.eps}, '
                f'loss_weight={self.loss_weight}')
