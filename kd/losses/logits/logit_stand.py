"""Logit standardization (Sun et al., CVPR 2024): a Z-score of the logits before the softmax.

Paper:
    S. Sun, W. Ren, J. Li, R. Wang, X. Cao. "Logit Standardization in Knowledge
    Distillation". CVPR 2024, arXiv:2403.01427.

Formula (per sample, over the class dimension; ``std`` the unbiased standard deviation)::

    Z(z) = (z - mean_c z) / (std_c z + eps),      eps = 1e-7
    softmax(Z(z) / base_temp)  ==  softmax((z - mean z) / (base_temp * std z))

i.e. each sample's temperature becomes ``base_temp`` times its own logit
standard deviation, separately for teacher and student, so the student matches
the teacher's logit *relations* instead of their range. It is an option of
:class:`~kd.losses.KDLoss`, :class:`~kd.losses.DKDLoss` and
:class:`~kd.losses.MLKDLoss` (``logit_stand=True``, ``base_temp=``); the
losses keep their ``tau**2`` factor with ``tau = base_temp``.

Reference implementation: sunshangquan/logit-standardization-KD,
``mdistiller/distillers/KD.py::normalize`` (``logit.std(dim=-1)``, i.e. the
unbiased estimate, and ``1e-7`` added to the std, not to the variance).
"""
from __future__ import annotations

from torch import Tensor

LS_EPS = 1e-7


def standardize_logits(logits: Tensor, dim: int = 1, eps: float = LS_EPS) -> Tensor:
    """Z-score of ``logits`` along the class dimension ``dim`` (unbiased std, ``eps`` on the std).

    Args:
        logits: logits ``(N, C, *extra)`` (any float dtype).
        dim: the class dimension.
        eps: added to the standard deviation.
    """
    if logits.shape[dim] < 2:
        raise ValueError('logit standardization needs at least 2 classes, got logits '
                         f'{tuple(logits.shape)}')
    mean = logits.mean(dim=dim, keepdim=True)
    std = logits.std(dim=dim, keepdim=True)
    return (logits - mean) / (std + eps)


def resolve_temperature(name: str, tau: float, logit_stand: bool,
                        base_temp: float | None) -> float:
    """The temperature a loss divides by: ``base_temp`` under logit standardization, else ``tau``.

    Raises:
        ValueError: ``base_temp`` without ``logit_stand``, or a temperature <= 0.
    """
    if base_temp is not None and not logit_stand:
        raise ValueError(f'{name}: base_temp={base_temp} is the temperature of logit '
                         'standardization; set logit_stand=True as well (or use tau)')
    temp = float(base_temp) if (logit_stand and base_temp is not None) else float(tau)
    if temp <= 0:
        raise ValueError(f'{name}: the temperature must be positive, got {temp}')
    return temp
