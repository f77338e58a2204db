"""Similarity-preserving knowledge distillation (Tung & Mori, ICCV 2019).

Paper:
    F. Tung, G. Mori. "Similarity-Preserving Knowledge Distillation".
    ICCV 2019, arXiv:1907.09682.

Formula (``F`` the feature flattened to ``(N, D)``; ``norm_rows`` divides each
row by its L2 norm)::

    G = norm_rows(F F^T)   (N x N),   L = loss_weight * ||G_s - G_t||_F**2 / N**2

summed over the (student, teacher) pairs when lists of features are given.

Reference implementation: RepDistiller's ``Similarity``
(``HobbitLong/RepDistiller``, ``distiller_zoo/SP.py``): ``F.normalize`` of the
Gram matrix rows (eps ``1e-12``), squared differences summed and divided by
``bsz * bsz``; RepDistiller sums the per-pair losses and weights them with
``beta = 3000`` on CIFAR (``loss_weight`` here).

Arguments:
    loss_weight: factor applied to the loss.

The student and teacher features only need the same batch size; their
channels and spatial sizes may differ (the Gram matrices are ``N x N``).
"""
from __future__ import annotations

from typing import Sequence, Union

import torch.nn.functional as F
from torch import Tensor, nn

from kd.registry import MODELS

from ..utils import float_dtype

Features = Union[Tensor, Sequence[Tensor]]


def as_feature_lists(name: str, student: Features, teacher: Features
                     ) -> tuple[list[Tensor], list[Tensor]]:
    """Both sides as lists of equal length (a single tensor is a list of one)."""
    s_list = [student] if isinstance(student, Tensor) else list(student)
    t_list = [teacher] if isinstance(teacher, Tensor) else list(teacher)
    if len(s_list) != len(t_list) or not s_list:
        raise ValueError(f'{name}: got {len(s_list)} student and {len(t_list)} teacher '
                         'features; pass one tensor or equally long non-empty lists.')
    return s_list, t_list


def check_batch(name: str, student: Tensor, teacher: Tensor) -> None:
    """Same batch size ``N`` on both sides (``ValueError`` naming both shapes)."""
    if student.dim() < 1 or teacher.dim() < 1 or student.shape[0] != teacher.shape[0]:
        raise ValueError(f'{name}: student {tuple(student.shape)} and teacher '
                         f'{tuple(teacher.shape)} must have the same batch size (dim 0).')


def similarity_matrix(feature: Tensor) -> Tensor:
    """Row-L2-normalised Gram matrix ``(N, N)`` of a feature ``(N, ...)``."""
    flat = feature.reshape(feature.shape[0], -1)
    return F.normalize(flat @ flat.t(), p=2, dim=1)


@MODELS.register_module()
class SPKDLoss(nn.Module):
    """Match the batch's pairwise-similarity matrices of student and teacher.

    Args:
        loss_weight: factor applied to the loss.
    """

    # Compares relations within each side, so student and teacher records may
    # differ in shape: the distiller skips its same-shape check.
    shape_check = 'none'

    def __init__(self, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, student: Features, teacher: Features, **kwargs) -> Tensor:
        """Compute the loss.

        Args:
            student: a feature ``(N, ...)`` or a list of them.
            teacher: a feature ``(N, ...)`` or a list of the same length
                (treated as a constant).
        """
        s_list, t_list = as_feature_lists('SPKDLoss', student, teacher)
        total = 0.
        for s, t in zip(s_list, t_list):
            check_batch('SPKDLoss', s, t)
            n = s.shape[0]
            dtype = float_dtype(s)
            g_s = similarity_matrix(s.to(dtype))
            g_t = similarity_matrix(t.detach().to(dtype))
            total = total + (g_s - g_t).pow(2).sum() / (n * n)
        return self.loss_weight * total

    def extra_repr(self) -> str:
        return f'loss_weight={self.loss_weight}'
