"""KDLoss, FeatureMSELoss and ChannelWiseDivergence against independent values.

The references below transcribe each paper's formula with explicit Python
loops in float64 (no torch, no shared helpers with ``kd``), and each loss has
a tiny example whose value is worked out by hand in the comments.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from kd.losses import ChannelWiseDivergence, FeatureMSELoss, KDLoss
from kd.registry import MODELS, build_kd_module


def _softmax(values: list[float], tau: float) -> list[float]:
    exps = [math.exp(v / tau) for v in values]
    total = sum(exps)
    return [e / total for e in exps]


def _kl(p: list[float], q: list[float]) -> float:
    return sum(pi * math.log(pi / qi) for pi, qi in zip(p, q))


def kd_reference(student: np.ndarray, teacher: np.ndarray, tau: float,
                 reduction: str) -> float | np.ndarray:
    """Hinton KD on (N, C) or (N, C, H, W) logits, written with loops."""
    if student.ndim == 2:
        student, teacher = student[:, :, None, None], teacher[:, :, None, None]
    n, c, h, w = student.shape
    per_sample = np.zeros((n, h, w))
    for i in range(n):
        for y in range(h):
            for x in range(w):
                p = _softmax([teacher[i, k, y, x] for k in range(c)], tau)
                q = _softmax([student[i, k, y, x] for k in range(c)], tau)
                per_sample[i, y, x] = _kl(p, q) * tau**2
    count = n * h * w
    if reduction == 'sum':
        return per_sample.sum()
    if reduction == 'batchmean':
        return per_sample.sum() / count
    if reduction == 'mean':
        return per_sample.sum() / (count * c)
    return per_sample


def cwd_reference(student: np.ndarray, teacher: np.ndarray, tau: float) -> float:
    """CWD: per (sample, channel) spatial softmax, KL summed, * tau^2 / (N * C)."""
    n, c = student.shape[:2]
    total = 0.0
    for i in range(n):
        for k in range(c):
            p = _softmax(list(teacher[i, k].ravel()), tau)
            q = _softmax(list(student[i, k].ravel()), tau)
            total += _kl(p, q)
    return total * tau**2 / (n * c)


def mse_reference(student: np.ndarray, teacher: np.ndarray, reduction: str) -> float:
    total = sum((a - b) ** 2 for a, b in zip(student.ravel(), teacher.ravel()))
    return total if reduction == 'sum' else total / student.size


def _pair(*shape: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    student = torch.randn(*shape, generator=gen, dtype=torch.float64) * 2
    teacher = torch.randn(*shape, generator=gen, dtype=torch.float64) * 2
    return student, teacher


def _check_gradients(loss_fn: torch.nn.Module, shape: tuple[int, ...]) -> None:
    student, teacher = _pair(*shape)
    student.requires_grad_(True)
    teacher.requires_grad_(True)
    loss = loss_fn(student, teacher)
    assert loss.dim() == 0
    loss.backward()
    assert student.grad is not None and student.grad.abs().sum() > 0
    assert teacher.grad is None


# ----------------------------------------------------------------------- KDLoss
@pytest.mark.parametrize('reduction', ['batchmean', 'sum', 'mean'])
@pytest.mark.parametrize('tau', [1.0, 4.0])
def test_kd_matches_reference(tau, reduction):
    student, teacher = _pair(4, 5)
    loss = KDLoss(tau=tau, reduction=reduction)(student, teacher)
    expected = kd_reference(student.numpy(), teacher.numpy(), tau, reduction)
    assert loss.item() == pytest.approx(expected, rel=1e-9)


def test_kd_dense_logits_and_none_reduction():
    student, teacher = _pair(2, 3, 2, 4)
    loss = KDLoss(tau=2.0, reduction='none')(student, teacher)
    expected = kd_reference(student.numpy(), teacher.numpy(), 2.0, 'none')
    assert loss.shape == (2, 2, 4)
    np.testing.assert_allclose(loss.numpy(), expected, rtol=1e-5)
    mean = KDLoss(tau=2.0, loss_weight=3.0)(student, teacher)
    assert mean.item() == pytest.approx(3 * expected.mean(), rel=1e-9)


def test_kd_hand_worked():
    # teacher logits (ln 3, 0) -> p = (3/4, 1/4); student (0, 0) -> q = (1/2, 1/2)
    # KL = 3/4 ln(3/2) + 1/4 ln(1/2) = 0.75 * 0.405465 - 0.25 * 0.693147 = 0.130812
    student = torch.tensor([[0.0, 0.0]])
    teacher = torch.tensor([[math.log(3.0), 0.0]])
    assert KDLoss()(student, teacher).item() == pytest.approx(0.130812, abs=1e-6)
    # tau = 2: p = (sqrt3, 1) / (sqrt3 + 1) = (0.633975, 0.366025)
    # KL = 0.633975 ln(1.267949) + 0.366025 ln(0.732051) = 0.036341; * tau^2 = 0.145363
    assert KDLoss(tau=2.0)(student, teacher).item() == pytest.approx(0.145363, abs=1e-6)
    # identical logits: zero; two samples, the second identical: batchmean halves
    two_s = torch.tensor([[0.0, 0.0], [1.0, 2.0]])
    two_t = torch.tensor([[math.log(3.0), 0.0], [1.0, 2.0]])
    assert KDLoss()(two_s, two_t).item() == pytest.approx(0.065406, abs=1e-6)
    assert KDLoss(reduction='sum')(two_s, two_t).item() == pytest.approx(0.130812, abs=1e-6)
    assert KDLoss(reduction='mean')(two_s, two_t).item() == pytest.approx(0.032703, abs=1e-6)


def test_kd_gradients_and_errors():
    _check_gradients(KDLoss(tau=2.0), (3, 4))
    with pytest.raises(ValueError, match=r'\(2, 5\).*\(2, 6\)'):
        KDLoss()(torch.zeros(2, 5), torch.zeros(2, 6))
    with pytest.raises(ValueError, match='reduction'):
        KDLoss(reduction='avg')
    with pytest.raises(ValueError, match='tau'):
        KDLoss(tau=0)


# --------------------------------------------------------------- FeatureMSELoss
@pytest.mark.parametrize('reduction', ['mean', 'sum'])
def test_mse_matches_reference(reduction):
    student, teacher = _pair(2, 3, 4, 4)
    loss = FeatureMSELoss(loss_weight=0.5, reduction=reduction)(student, teacher)
    expected = 0.5 * mse_reference(student.numpy(), teacher.numpy(), reduction)
    assert loss.item() == pytest.approx(expected, rel=1e-10)


def test_mse_hand_worked():
    # errors (0, 2, 3) -> squares (0, 4, 9): sum 13, mean 13/3
    student = torch.tensor([1.0, 2.0, 3.0])
    teacher = torch.tensor([1.0, 0.0, 0.0])
    assert FeatureMSELoss()(student, teacher).item() == pytest.approx(4.333333, abs=1e-6)
    assert FeatureMSELoss(reduction='sum')(student, teacher).item() == pytest.approx(13.0)


def test_mse_gradients_and_errors():
    _check_gradients(FeatureMSELoss(), (2, 3, 4, 4))
    with pytest.raises(ValueError, match=r'\(1, 4, 2, 2\).*\(1, 8, 2, 2\).*connector'):
        FeatureMSELoss()(torch.zeros(1, 4, 2, 2), torch.zeros(1, 8, 2, 2))


# -------------------------------------------------------- ChannelWiseDivergence
@pytest.mark.parametrize('tau', [1.0, 4.0])
def test_cwd_matches_reference(tau):
    student, teacher = _pair(2, 3, 4, 5)
    loss = ChannelWiseDivergence(tau=tau, loss_weight=2.0)(student, teacher)
    expected = 2.0 * cwd_reference(student.numpy(), teacher.numpy(), tau)
    assert loss.item() == pytest.approx(expected, rel=1e-9)


def test_cwd_hand_worked():
    # N=1, C=2, H=1, W=2. Channel 0: teacher (ln 3, 0) -> (3/4, 1/4), student
    # (0, 0) -> (1/2, 1/2), KL = 0.130812. Channel 1: identical, KL = 0.
    # sum * tau^2 / (N * C) = 0.130812 / 2 = 0.065406
    student = torch.tensor([[[[0.0, 0.0]], [[5.0, -1.0]]]])
    teacher = torch.tensor([[[[math.log(3.0), 0.0]], [[5.0, -1.0]]]])
    loss = ChannelWiseDivergence()(student, teacher)
    assert loss.item() == pytest.approx(0.065406, abs=1e-6)
    # a spatially constant shift of the student changes nothing (softmax over H*W)
    shifted = student + torch.tensor([10.0, -3.0]).view(1, 2, 1, 1)
    assert ChannelWiseDivergence()(shifted, teacher).item() == pytest.approx(0.065406,
                                                                             abs=1e-6)


def test_cwd_gradients_and_errors():
    _check_gradients(ChannelWiseDivergence(tau=2.0), (2, 3, 4, 4))
    with pytest.raises(ValueError, match=r'\(1, 4, 2, 2\).*\(1, 4, 3, 3\)'):
        ChannelWiseDivergence()(torch.zeros(1, 4, 2, 2), torch.zeros(1, 4, 3, 3))
    with pytest.raises(ValueError, match=r'\(N, C, H, W\)'):
        ChannelWiseDivergence()(torch.zeros(2, 4), torch.zeros(2, 4))


# ------------------------------------------------------------------- registry
@pytest.mark.parametrize('cfg,cls', [
    (dict(type='KDLoss', tau=4.0), KDLoss),
    (dict(type='FeatureMSELoss', loss_weight=2.0), FeatureMSELoss),
    (dict(type='ChannelWiseDivergence', tau=2.0, loss_weight=5.0), ChannelWiseDivergence),
])
def test_losses_build_from_config(cfg, cls):
    assert type(build_kd_module(cfg)) is cls
    built = MODELS.build(dict(cfg, type='kd.' + cfg['type']))
    assert type(built) is cls and built.loss_weight == cfg.get('loss_weight', 1.0)
