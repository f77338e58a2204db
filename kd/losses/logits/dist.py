"""DIST: distillation from a stronger teacher (Huang et al., NeurIPS 2022).

Paper:
    T. Huang, S. You, F. Wang, C. Qian, C. Xu. "Knowledge Distillation from
    A Stronger Teacher". NeurIPS 2022, arXiv:2205.10536.

Formula (``Y_s = softmax(z_s / tau)``, ``Y_t = softmax(z_t / tau)``, ``(N, C)``;
``rho`` the Pearson correlation ``cos(a - mean(a), b - mean(b))``)::

    inter = 1 - mean_n rho(Y_s[n, :], Y_t[n, :])   (each sample's class distribution)
    intra = 1 - mean_c rho(Y_s[:, c], Y_t[:, c])   (each class over the batch)
    L = loss_weight * tau**2 * (beta * inter + gamma * intra)

Reference implementation: the authors' DIST_KD (``hunto/DIST_KD``,
``inter_class_relation`` / ``intra_class_relation``): the cosine is
``a.b / (|a| |b| + eps)`` with ``eps = 1e-8`` and both terms are scaled by
``tau**2``; defaults ``beta = gamma = tau = 1``.

Arguments:
    beta: weight of the inter-class relation term.
    gamma: weight of the intra-class relation term.
    tau: softmax temperature.
    loss_weight: factor applied to the loss.
"""
from __future__ import annotations

from torch import Tensor, nn

from kd.registry import MODELS

from ..utils import check_logits, float_dtype

_EPS = 1e-8


def pearson_rows(a: Tensor, b: Tensor, eps: float = _EPS) -> Tensor:
    """Pearson correlation of each row of ``a`` with the same row of ``b``: ``(N,)``."""
    a = a - a.mean(dim=1, keepdim=True)
    b = b - b.mean(dim=1, keepdim=True)
    return (a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1) + eps)


@MODELS.register_module()
class DISTLoss(nn.Module):
    """Match the inter- and intra-class correlations of the class probabilities.

    Args:
        beta: weight of the inter-class term.
        gamma: weight of the intra-class term.
        tau: softmax temperature.
        loss_weight: factor applied to the loss.
    """

    def __init__(self, beta: float = 1.0, gamma: float = 1.0, tau: float = 1.0,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if tau <= 0:
            raise ValueError(f'tau must be positive, got {tau}')
        self.beta = beta
        self.gamma = gamma
        self.tau = tau
        self.loss_weight = loss_weight

    def forward(self, student: Tensor, teacher: Tensor, **kwargs) -> Tensor:
        """Compute the loss.

        Args:
            student: student logits ``(N, C)``.
            teacher: teacher logits ``(N, C)`` (treated as a constant).
        """
        check_logits('DISTLoss', student, teacher)
        dtype = float_dtype(student)
        y_s = (student.to(dtype) / self.tau).softmax(dim=1)
        y_t = (teacher.detach().to(dtype) / self.tau).softmax(dim=1)
        inter = 1 - pearson_rows(y_s, y_t).mean()
        intra = 1 - pearson_rows(y_s.t(), y_t.t()).mean()
        loss = self.tau**2 * (self.beta * inter + self.gamma * intra)
        return self.loss_weight * loss

    def extra_repr(self) -> str:
        return (f'beta={self.beta}, gamma={self.gamma}, tau={self.tau}, '
                f'loss_weight={self.loss_weight}')
