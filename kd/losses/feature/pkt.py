"""Probabilistic Knowledge Transfer (Passalis & Tefas, ECCV 2018).

Paper:
    N. Passalis, A. Tefas. "Learning Deep Representations with Probabilistic
    Knowledge Transfer". ECCV 2018, arXiv:1803.10837.

Formula: embeddings ``x_i`` (one per sample, other dims flattened) are
L2-normalised, ``x_i / (||x_i|| + eps)``; the cosine similarities are mapped
to [0, 1], ``K_ij = (x_i^T x_j + 1) / 2``, and each row becomes a conditional
distribution ``P_ij = K_ij / sum_j K_ij`` (``Q`` for the student)::

    L = loss_weight * 1 / N**2 * sum_{i, j} P_ij * log((P_ij + eps) / (Q_ij + eps))

Reference implementation: ``PKT.cosine_similarity_loss`` of
HobbitLong/RepDistiller (from the authors' passalis/probabilistic_kt): ``eps``
added to the norm and inside the log ratio, NaNs from the normalisation set to
0, the self-similarity ``i = j`` kept, and ``torch.mean`` over all ``N * N``
entries (so the row KL divergences are summed and divided by ``N**2``, not
``N``). RepDistiller's CIFAR recipe weights it by ``beta = 30000``
(``loss_weight=30000.``). The embedding sizes of student and teacher may
differ; only the batch sizes must match.

Arguments:
    eps: small constant of the normalisation and of the log ratio.
    loss_weight: factor applied to the loss.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from kd.registry import MODELS


def conditional_similarity(embedding: Tensor, eps: float) -> Tensor:
    """``(N, D)`` -> ``(N, N)`` row-stochastic matrix of rescaled cosine similarities."""
    unit = embedding / (embedding.norm(dim=1, keepdim=True) + eps)
    unit = torch.where(torch.isnan(unit), torch.zeros_like(unit), unit)
    similarity = (unit @ unit.t() + 1.0) / 2.0
    return similarity / similarity.sum(dim=1, keepdim=True)


@MODELS.register_module()
class PKTLoss(nn.Module):
    """KL divergence between the teacher's and the student's similarity distributions.

    Args:
        eps: small constant of the normalisation and of the log ratio.
        loss_weight: factor applied to the loss.
    """

    # Embedding sizes may differ (checked in forward): the distiller skips its
    # same-shape check.
    shape_check = 'none'

    def __init__(self, eps: float = 1e-7, loss_weight: float = 1.0) -> None:
        super().__init__()
        if eps < 0:
            raise ValueError(f'eps must be non-negative, got {eps}')
        self.eps = eps
        self.loss_weight = loss_weight

    def forward(self, student: Tensor, teacher: Tensor, **kwargs) -> Tensor:
        """Compute the loss.

        Args:
            student: student embeddings ``(N, D_s)`` (or ``(N, ...)``, flattened).
            teacher: teacher embeddings ``(N, D_t)``; ``D_t`` may differ from
                ``D_s`` (treated as a constant).
        """
        if student.dim() < 2 or teacher.dim() < 2 or student.shape[0] != teacher.shape[0]:
            raise ValueError(f'PKTLoss expects (N, D) embeddings (or (N, ...), flattened) '
                             f'with the same N, got student {tuple(student.shape)} and '
                             f'teacher {tuple(teacher.shape)}')
        dtype = torch.promote_types(student.dtype, torch.float32)  # fp16 -> fp32
        q = conditional_similarity(student.to(dtype).flatten(1), self.eps)
        p = conditional_similarity(teacher.detach().to(dtype).flatten(1), self.eps)
        loss = (p * torch.log((p + self.eps) / (q + self.eps))).mean()
        return self.loss_weight * loss

    def extra_repr(self) -> str:
        return f'eps={self.eps}, loss_weight={self.loss_weight}'
