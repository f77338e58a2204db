"""Curriculum temperature for knowledge distillation (Li et al., AAAI 2023).

Paper:
    Z. Li, X. Li, L. Yang, B. Zhao, R. Song, L. Luo, J. Li, J. Yang.
    "Curriculum Temperature for Knowledge Distillation". AAAI 2023, arXiv:2211.16231.

Formula: KD with a learnable global temperature that is trained *against* the
student through a gradient-reversal layer ``GRL_lambda`` (identity forward,
gradient times ``-lambda`` backward)::

    tau = tau_min + tau_range * sigmoid(GRL_lambda(theta))     (theta: one parameter, 1 at start)
    L   = loss_weight * tau**2 * mean_n KL(softmax(t / tau) || softmax(s / tau))
    lambda_n = lambda_start + (lambda_end - lambda_start) * (1 - cos(pi * min(n, N) / N)) / 2

The student minimises ``L``; the temperature maximises it, more strongly as
``lambda`` rises from ``lambda_start`` to ``lambda_end`` over the first ``N``
epochs (easy to hard). ``n`` is the 1-based epoch.

Reference implementation: zhengli97/CTKD, ``models/temp_global.py``
(``Global_T``: ``nn.Parameter(torch.ones(1))`` behind a gradient-reversal
function whose backward multiplies by the value it is given),
``helper/loops.py`` (``temp = t_start + t_end * sigmoid(global_T)``, KD as
``KLDivLoss(batchmean) * T * T``) and ``train_student.py`` (``CosineDecay``
evaluated at the 1-based epoch; its CIFAR script: ``--t_start 1 --t_end 20
--decay_max 0 --decay_min -1 --decay_loops 10``, ``-r 0.1 -a 0.9``). The
official decay value runs from ``decay_max = 0`` to ``decay_min = -1`` and
multiplies the gradient; kd's ``lambda`` is its negative (``0 -> 1``), the
paper's notation.

Arguments:
    tau_min: lowest temperature (``t_start``).
    tau_range: the temperature's range above ``tau_min`` (``t_end``).
    init: initial value of ``theta``.
    lambda_start / lambda_end: the gradient-reversal strength at epoch 0 and
        from epoch ``lambda_epochs`` on.
    lambda_epochs: length of the cosine curriculum in epochs.
    loss_weight: factor applied to the loss.

The epoch comes from the ``epoch`` forward argument (0-based, as MMEngine
counts), else from MMEngine's message hub (``'epoch'``); without either the
curriculum is taken as finished (``lambda_end``) with a warning.
"""
from __future__ import annotations

import math
import warnings

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from kd.registry import MODELS

from ..utils import check_logits, float_dtype


class _GradientReversal(torch.autograd.Function):
    """Identity forward; backward multiplies the gradient by ``-lambda``."""

    @staticmethod
    def forward(ctx, x: Tensor, lambda_: float) -> Tensor:
        ctx.lambda_ = float(lambda_)
        return x.clone()

    @staticmethod
    def backward(ctx, grad: Tensor):
        return -ctx.lambda_ * grad, None


def gradient_reversal(x: Tensor, lambda_: float) -> Tensor:
    """``x`` unchanged; its gradient is multiplied by ``-lambda_`` (Ganin & Lempitsky, 2015)."""
    return _GradientReversal.apply(x, lambda_)


def cosine_lambda(epoch: int, lambda_start: float = 0.0, lambda_end: float = 1.0,
                  lambda_epochs: int = 10) -> float:
    """CTKD's curriculum: ``start + (end - start) * (1 - cos(pi * min(n, N) / N)) / 2``.

    Args:
        epoch: the 1-based epoch ``n`` (clamped to ``[0, N]``).
        lambda_start: value at ``n = 0``.
        lambda_end: value from ``n = N`` on.
        lambda_epochs: ``N``.
    """
    if lambda_epochs <= 0:
        return float(lambda_end)
    n = min(max(epoch, 0), lambda_epochs)
    return lambda_start + (lambda_end - lambda_start) * \
        (1.0 - math.cos(math.pi * n / lambda_epochs)) / 2.0


def current_epoch(epoch: int | None = None) -> int | None:
    """``epoch`` if given, else MMEngine's message-hub ``'epoch'`` (0-based; None if unset)."""
    if epoch is not None:
        return int(epoch)
    try:
        from mmengine.logging import MessageHub
        value = MessageHub.get_current_instance().get_info('epoch')
    except Exception:  # no usable message hub: no epoch
        return None
    return None if value is None else int(value)


class LearnableTemperature(nn.Module):
    """CTKD's global temperature ``tau_min + tau_range * sigmoid(GRL(theta))``.

    Args:
        tau_min: lowest temperature.
        tau_range: range above ``tau_min``.
        init: initial ``theta``.
    """

    def __init__(self, tau_min: float = 1.0, tau_range: float = 20.0, init: float = 1.0) -> None:
        super().__init__()
        if tau_min <= 0 or tau_range < 0:
            raise ValueError(f'LearnableTemperature needs tau_min > 0 and tau_range >= 0, got '
                             f'{tau_min}, {tau_range}')
        self.tau_min = float(tau_min)
        self.tau_range = float(tau_range)
        self.theta = nn.Parameter(torch.full((1, ), float(init)))

    def forward(self, lambda_: float) -> Tensor:
        """The temperature ``(1,)``; ``theta`` receives ``-lambda_`` times its gradient."""
        return self.tau_min + self.tau_range * torch.sigmoid(gradient_reversal(self.theta, lambda_))

    def extra_repr(self) -> str:
        return f'tau_min={self.tau_min}, tau_range={self.tau_range}'


@MODELS.register_module()
class CTKDLoss(nn.Module):
    """KD at a learnable temperature trained adversarially (gradient reversal, cosine curriculum).

    Args:
        tau_min: lowest temperature.
        tau_range: range above ``tau_min``.
        init: initial ``theta`` of the temperature.
        lambda_start: reversal strength at epoch 0.
        lambda_end: reversal strength after ``lambda_epochs``.
        lambda_epochs: curriculum length in epochs.
        loss_weight: factor applied to the loss.
    """

    def __init__(self, tau_min: float = 1.0, tau_range: float = 20.0, init: float = 1.0,
                 lambda_start: float = 0.0, lambda_end: float = 1.0, lambda_epochs: int = 10,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if lambda_epochs < 0:
            raise ValueError(f'lambda_epochs must be >= 0, got {lambda_epochs}')
        self.temperature = LearnableTemperature(tau_min, tau_range, init)
        self.lambda_start = float(lambda_start)
        self.lambda_end = float(lambda_end)
        self.lambda_epochs = int(lambda_epochs)
        self.loss_weight = loss_weight
        self.last_tau: float | None = None
        self._warned = False

    def current_lambda(self, epoch: int | None = None) -> float:
        """The reversal strength at the 0-based ``epoch`` (from the message hub if None)."""
        ep = current_epoch(epoch)
        if ep is None:
            if not self._warned:
                warnings.warn('CTKDLoss: the current epoch is unknown (no `epoch` argument, '
                              "no MMEngine message hub 'epoch'); lambda_end is used.")
                self._warned = True
            return self.lambda_end
        return cosine_lambda(ep + 1, self.lambda_start, self.lambda_end, self.lambda_epochs)

    def forward(self, student: Tensor, teacher: Tensor, *,
                epoch: int | None = None) -> Tensor:
        """Compute the loss.

        Args:
            student: student logits ``(N, C)``.
            teacher: teacher logits ``(N, C)`` (treated as a constant).
            epoch: current 0-based epoch, for the curriculum.
        """
        check_logits('CTKDLoss', student, teacher)
        dtype = float_dtype(student)
        tau = self.temperature(self.current_lambda(epoch)).to(dtype)
        self.last_tau = float(tau.detach())
        log_q = F.log_softmax(student.to(dtype) / tau, dim=1)
        log_p = F.log_softmax(teacher.detach().to(dtype) / tau, dim=1)
        kl = (log_p.exp() * (log_p - log_q)).sum(dim=1).mean()
        return self.loss_weight * kl * tau.squeeze()**2

    def extra_repr(self) -> str:
        return (f'lambda {self.lambda_start} -> {self.lambda_end} over {self.lambda_epochs} '
                f'epochs, loss_weight={self.loss_weight}')
