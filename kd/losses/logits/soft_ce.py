"""Cross-entropy with the teacher's soft labels (Hinton et al., 2015).

Paper:
    G. Hinton, O. Vinyals, J. Dean. "Distilling the Knowledge in a Neural
    Network". NIPS 2014 Deep Learning Workshop, arXiv:1503.02531 (the soft
    target objective, written as a cross-entropy).

Formula (``p = softmax(t / tau)``, ``q = softmax(s / tau)``, classes on dim 1)::

    L = loss_weight * tau**2 * mean_n ( -sum_c p_c log q_c )

It equals :class:`KDLoss` plus ``tau**2 * H(p)``, a term that does not depend
on the student: same gradients, but the logged value keeps the teacher's
entropy (it is not zero when the student matches the teacher).

Reference implementation: ``torch.sum(-softmax(t / tau) * log_softmax(s / tau), 1)``
averaged over the batch and scaled by ``tau**2``, i.e.
``F.cross_entropy(s / tau, softmax(t / tau)) * tau**2`` (soft-probability
targets of :func:`torch.nn.functional.cross_entropy`).

Arguments:
    tau: softmax temperature applied to both logits.
    loss_weight: factor applied to the loss.

Logits are ``(N, C)`` or ``(N, C, *extra)``; extra dimensions count as samples.
"""
from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from kd.registry import MODELS

from ..utils import check_same_shape, float_dtype


@MODELS.register_module()
class SoftCrossEntropyLoss(nn.Module):
    """Cross-entropy of the student's tempered softmax against the teacher's.

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
            student: student logits ``(N, C, *extra)``.
            teacher: teacher logits of the same shape (treated as a constant).
        """
        check_same_shape('SoftCrossEntropyLoss', student, teacher)
        if student.dim() < 2:
            raise ValueError(f'SoftCrossEntropyLoss expects logits (N, C, ...), got '
                             f'{tuple(student.shape)}')
        dtype = float_dtype(student)
        log_q = F.log_softmax(student.to(dtype) / self.tau, dim=1)
        p = F.softmax(teacher.detach().to(dtype) / self.tau, dim=1)
        loss = -(p * log_q).sum(dim=1).mean() * self.tau**2
        return self.loss_weight * loss

    def extra_repr(self) -> str:
        return f'tau={self.tau}, loss_weight={self.loss_weight}'
