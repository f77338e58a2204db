"""Multi-level logit distillation (Jin et al., CVPR 2023).

Paper:
    Y. Jin, J. Wang, D. Lin. "Multi-Level Logit Distillation". CVPR 2023.

Formula (one view; ``P^T = softmax(z / T)`` row-wise, ``(N, C)``; the sums run
over the temperatures ``T`` of ``temperatures``, "prediction augmentation")::

    instance  KD_T = T**2 / N * sum_n KL(P^T_t[n] || P^T_s[n])
    batch     BC_T = 1 / N * || P^T_t P^T_t' - P^T_s P^T_s' ||_F^2        (N x N Gram)
    class     CC_T = 1 / C * || P^T_t' P^T_t - P^T_s' P^T_s ||_F^2        (C x C Gram)

    L = loss_weight * sum_T (m * KD_T + m * BC_T + c * CC_T)

``m`` is the fraction of samples whose teacher confidence ``max_c softmax(t)``
is at most its batch median, ``c`` the fraction of classes whose summed teacher
probability ``sum_n softmax(t)[n, c]`` is at most its median (medians with
linear interpolation, as ``numpy.percentile(x, 50)``; about 1/2 each).

Reference implementation: Jin-Ying/Multi-Level-Logit-Distillation,
``mdistiller/distillers/KD_ours.py`` (and the same file as ``MLKD.py`` in
sunshangquan/logit-standardization-KD): temperatures ``(T, 3, 5, 2, 6)`` with
``T = KD.TEMPERATURE = 4``; the masks multiply losses that are already averaged
over the batch (``(kd_loss(...) * mask).mean()``), so they act as the factors
``m`` and ``c`` above, which kd reproduces. ``BC`` and ``CC`` use the raw
logits even under logit standardization, as there; only ``KD_T`` standardizes.

Departure: the official step also runs a strongly augmented second view
through both networks (its cross-entropy and ``sum_T KD_T`` on it) and trains
480 epochs at lr 0.025 on CIFAR-100. kd's distillers run one view per step, so
this loss is the weak-view part of the objective; with ``logit_stand`` and
``base_temp`` the first temperature is replaced by ``base_temp`` (as the logit
standardization repository's ``tools/train.py`` sets ``KD.TEMPERATURE``).

Arguments:
    temperatures: the temperatures summed over (the first is MLKD's base
        ``KD.TEMPERATURE``).
    loss_weight: factor applied to every term (MLKD's ``KD_WEIGHT``, 1; 9 with
        logit standardization).
    logit_stand: Z-score the logits before the softmax of the instance terms
        (Sun et al. CVPR 2024, :mod:`kd.losses.logits.logit_stand`).
    base_temp: with ``logit_stand``, replaces ``temperatures[0]``.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from kd.registry import MODELS

from ..utils import check_logits, float_dtype
from .logit_stand import resolve_temperature, standardize_logits


def median_fraction(values: Tensor) -> Tensor:
    """Fraction of ``values`` (1-D) at most their median (linear interpolation)."""
    threshold = torch.quantile(values, 0.5)
    return (values <= threshold).to(values.dtype).mean()


@MODELS.register_module()
class MLKDLoss(nn.Module):
    """Instance-, batch- and class-level logit alignment at several temperatures.

    Args:
        temperatures: temperatures summed over.
        loss_weight: factor applied to every term.
        logit_stand: standardize the logits of the instance (KL) terms.
        base_temp: with ``logit_stand``, the first temperature.
    """

    def __init__(self, temperatures: Sequence[float] = (4.0, 3.0, 5.0, 2.0, 6.0),
                 loss_weight: float = 1.0, logit_stand: bool = False,
                 base_temp: float | None = None) -> None:
        super().__init__()
        temps = [float(t) for t in temperatures]
        if not temps or any(t <= 0 for t in temps):
            raise ValueError(f'MLKDLoss: temperatures must be a non-empty list of positive '
                             f'numbers, got {temperatures}')
        temps[0] = resolve_temperature('MLKDLoss', temps[0], logit_stand, base_temp)
        self.temperatures = tuple(temps)
        self.loss_weight = loss_weight
        self.logit_stand = bool(logit_stand)

    def forward(self, student: Tensor, teacher: Tensor, **kwargs) -> Tensor:
        """Compute the loss.

        Args:
            student: student logits ``(N, C)``.
            teacher: teacher logits ``(N, C)`` (treated as a constant).
        """
        check_logits('MLKDLoss', student, teacher)
        if student.shape[1] < 2:
            raise ValueError(f'MLKDLoss needs at least 2 classes, got {tuple(student.shape)}')
        dtype = float_dtype(student)
        s, t = student.to(dtype), teacher.detach().to(dtype)
        n, c = s.shape
        with torch.no_grad():
            p_t1 = F.softmax(t, dim=1)
            m = median_fraction(p_t1.max(dim=1).values)
            c_frac = median_fraction(p_t1.sum(dim=0))
        s_ls, t_ls = (standardize_logits(s), standardize_logits(t)) if self.logit_stand \
            else (s, t)
        total = s.new_zeros(())
        for temp in self.temperatures:
            log_q = F.log_softmax(s_ls / temp, dim=1)
            log_p = F.log_softmax(t_ls / temp, dim=1)
            kd = (log_p.exp() * (log_p - log_q)).sum() / n * temp**2
            p_s, p_t = F.softmax(s / temp, dim=1), F.softmax(t / temp, dim=1)
            bc = ((p_t @ p_t.T - p_s @ p_s.T)**2).sum() / n
            cc = ((p_t.T @ p_t - p_s.T @ p_s)**2).sum() / c
            total = total + m * kd + m * bc + c_frac * cc
        return self.loss_weight * total

    def extra_repr(self) -> str:
        return (f'temperatures={self.temperatures}, loss_weight={self.loss_weight}, '
                f'logit_stand={self.logit_stand}')
