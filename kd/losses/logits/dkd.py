"""Decoupled knowledge distillation (Zhao et al., CVPR 2022).

Paper:
    B. Zhao, Q. Cui, R. Song, Y. Qiu, J. Liang. "Decoupled Knowledge
    Distillation". CVPR 2022, arXiv:2203.08679.

Formula (``y`` the ground-truth class; ``b = (p_y, 1 - p_y)`` the binary
target / non-target mass of ``p = softmax(z / tau)``; ``p^`` the softmax of
``z / tau - 1000 * onehot(y)``, i.e. over the non-target classes)::

    TCKD = tau**2 * mean_n KL(b_t || b_s),   NCKD = tau**2 * mean_n KL(p^_t || p^_s)
    L = loss_weight * w * (alpha * TCKD + beta * NCKD),  w = min((iter + 1) / warmup_iters, 1)

Reference implementation: mdistiller's ``dkd_loss`` (``mdistiller/distillers/DKD.py``):
same masking by ``-1000``, ``KL(sum) * tau**2 / N`` for both terms and the
CIFAR defaults ``alpha=1, beta=8, tau=4``. mdistiller warms up over epochs
(``min(epoch / 20, 1)`` with 1-based epochs); here the warm-up counts
iterations, the current one counted from 1: ``w = min((iter + 1) / warmup_iters, 1)``
with ``iter`` the 0-based index MMEngine stores in the message hub.
The binary KL is computed from log-sum-exps instead of ``log`` of summed
probabilities (the same value, without ``log(0)`` when the student saturates).

Arguments:
    alpha: weight of the target-class term TCKD.
    beta: weight of the non-target-class term NCKD.
    tau: softmax temperature.
    loss_weight: factor applied to the loss.
    logit_stand: Z-score both logits over the classes before dividing by the
        temperature (logit standardization, Sun et al. CVPR 2024; see
        :mod:`kd.losses.logits.logit_stand`); ``tau**2`` becomes ``base_temp**2``.
    base_temp: the temperature used with ``logit_stand`` (default: ``tau``).
    warmup_iters: length of the linear warm-up in iterations; 0 disables it.
        The iteration comes from the ``iteration`` forward argument, else from
        MMEngine's ``MessageHub`` (``'iter'``, set by the runner); without
        either the warm-up is skipped with a warning.

Labels: ``data_samples`` (``gt_label`` or ``'label'`` per sample, see
:func:`kd.losses.utils.labels_from_data_samples`) or ``gt_labels=`` ``(N,)``.
"""
from __future__ import annotations

import warnings
from typing import Any, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from kd.registry import MODELS

from ..utils import check_logits, float_dtype, resolve_labels
from .logit_stand import resolve_temperature, standardize_logits

_MASK = 1000.0


def current_iteration(iteration: int | None = None) -> int | None:
    """``iteration`` if given, else MMEngine's message-hub ``'iter'`` (None if unset)."""
    if iteration is not None:
        return int(iteration)
    try:
        from mmengine.logging import MessageHub
        value = MessageHub.get_current_instance().get_info('iter')
    except Exception:  # no usable message hub: no iteration
        return None
    return None if value is None else int(value)


def _binary_log_probs(logits: Tensor, gt_mask: Tensor) -> Tensor:
    """Log of (target mass, non-target mass) of ``softmax(logits)``: ``(N, 2)``."""
    log_total = torch.logsumexp(logits, dim=1)
    log_target = (logits * gt_mask).sum(1) - log_total
    log_other = torch.logsumexp(logits.masked_fill(gt_mask, float('-inf')), dim=1) - log_total
    return torch.stack([log_target, log_other], dim=1)


@MODELS.register_module()
class DKDLoss(nn.Module):
    """Decoupled KD: target-class (TCKD) plus weighted non-target-class (NCKD) KL.

    Args:
        alpha: weight of TCKD.
        beta: weight of NCKD.
        tau: softmax temperature.
        loss_weight: factor applied to the loss.
        warmup_iters: linear warm-up length in iterations (0: none).
        logit_stand: standardize both logits (Z-score over the classes) first.
        base_temp: temperature with ``logit_stand`` (default ``tau``).
    """

    def __init__(self, alpha: float = 1.0, beta: float = 8.0, tau: float = 4.0,
                 loss_weight: float = 1.0, warmup_iters: int = 0,
                 logit_stand: bool = False, base_temp: float | None = None) -> None:
        super().__init__()
        if tau <= 0:
            raise ValueError(f'tau must be positive, got {tau}')
        self.temperature = resolve_temperature('DKDLoss', tau, logit_stand, base_temp)
        self.logit_stand = bool(logit_stand)
        self.base_temp = base_temp
        if warmup_iters < 0:
            raise ValueError(f'warmup_iters must be >= 0, got {warmup_iters}')
        self.alpha = alpha
        self.beta = beta
        self.tau = tau
        self.loss_weight = loss_weight
        self.warmup_iters = int(warmup_iters)
        self._warned = False

    def warmup_factor(self, iteration: int | None = None) -> float:
        """``min((iter + 1) / warmup_iters, 1)``; 1 without warm-up or iteration."""
        if self.warmup_iters <= 0:
            return 1.0
        it = current_iteration(iteration)
        if it is None:
            if not self._warned:
                warnings.warn('DKDLoss: warmup_iters is set but the current iteration is '
                              'unknown (no `iteration` argument, no MMEngine message hub '
                              "'iter'); the warm-up is skipped.")
                self._warned = True
            return 1.0
        return min((it + 1) / self.warmup_iters, 1.0)

    def forward(self, student: Tensor, teacher: Tensor,
                data_samples: Sequence[Any] | None = None, *,
                gt_labels: Tensor | None = None,
                iteration: int | None = None) -> Tensor:
        """Compute the loss.

        Args:
            student: student logits ``(N, C)``.
            teacher: teacher logits ``(N, C)`` (treated as a constant).
            data_samples: the batch's samples carrying the labels.
            gt_labels: labels ``(N,)``, instead of ``data_samples``.
            iteration: current 0-based iteration, for the warm-up.
        """
        check_logits('DKDLoss', student, teacher)
        if student.shape[1] < 2:
            raise ValueError(f'DKDLoss needs at least 2 classes, got logits '
                             f'{tuple(student.shape)}')
        labels = resolve_labels('DKDLoss', student, data_samples, gt_labels)
        dtype = float_dtype(student)
        s, t = student.to(dtype), teacher.detach().to(dtype)
        if self.logit_stand:
            s, t = standardize_logits(s), standardize_logits(t)
        temp = self.temperature
        s, t = s / temp, t / temp
        n = s.shape[0]
        gt_mask = F.one_hot(labels, s.shape[1]).bool()

        log_bs = _binary_log_probs(s, gt_mask)
        log_bt = _binary_log_probs(t, gt_mask)
        tckd = (log_bt.exp() * (log_bt - log_bs)).sum() / n

        log_qs = F.log_softmax(s - _MASK * gt_mask, dim=1)
        log_qt = F.log_softmax(t - _MASK * gt_mask, dim=1)
        nckd = (log_qt.exp() * (log_qt - log_qs)).sum() / n

        loss = (self.alpha * tckd + self.beta * nckd) * temp**2
        return self.loss_weight * self.warmup_factor(iteration) * loss

    def extra_repr(self) -> str:
        text = (f'alpha={self.alpha}, beta={self.beta}, tau={self.tau}, '
                f'loss_weight={self.loss_weight}, warmup_iters={self.warmup_iters}')
        if self.logit_stand:
            text += f', logit_stand=True, base_temp={self.temperature}'
        return text
