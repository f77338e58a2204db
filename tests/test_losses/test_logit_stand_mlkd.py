"""Logit standardization (KDLoss / DKDLoss / MLKDLoss option) and MLKD against independent values.

The references transcribe the papers' formulas with Python loops in float64
(no torch, nothing shared with kd); the small examples are worked out by hand
in the comments.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from kd.distillers import SingleTeacherDistiller
from kd.losses import DKDLoss, KDLoss, MLKDLoss
from kd.registry import build_kd_module
from tests.test_distillers.toy_models import toy_batch, toy_cfg, write_toy_teacher


def _zscore(row) -> list[float]:
    """(z - mean) / (unbiased std + 1e-7), the official ``normalize``."""
    n = len(row)
    mean = sum(row) / n
    std = math.sqrt(sum((v - mean)**2 for v in row) / (n - 1))
    return [(v - mean) / (std + 1e-7) for v in row]


def _softmax(row, tau=1.0) -> list[float]:
    top = max(row)
    e = [math.exp((v - top) / tau) for v in row]
    return [v / sum(e) for v in e]


def _kl(p, q) -> float:
    return sum(a * (math.log(a) - math.log(b)) for a, b in zip(p, q) if a > 0)


def kd_ls_reference(s: np.ndarray, t: np.ndarray, temp: float) -> float:
    """mean_n temp^2 KL(softmax(Z(t)/temp) || softmax(Z(s)/temp))."""
    rows = [temp**2 * _kl(_softmax(_zscore(tr), temp), _softmax(_zscore(sr), temp))
            for sr, tr in zip(s.tolist(), t.tolist())]
    return sum(rows) / len(rows)


def dkd_ls_reference(s: np.ndarray, t: np.ndarray, labels, alpha, beta, temp) -> float:
    """DKD (TCKD + NCKD) on standardized logits, the mdistiller masking written out."""
    total_t = total_n = 0.0
    for sr, tr, y in zip(s.tolist(), t.tolist(), labels):
        ps, pt = _softmax(_zscore(sr), temp), _softmax(_zscore(tr), temp)
        bs, bt = [ps[y], 1 - ps[y]], [pt[y], 1 - pt[y]]
        total_t += _kl(bt, bs)
        qs = _softmax([v for i, v in enumerate(_zscore(sr)) if i != y], temp)
        qt = _softmax([v for i, v in enumerate(_zscore(tr)) if i != y], temp)
        total_n += _kl(qt, qs)
    n = len(labels)
    return (alpha * total_t / n + beta * total_n / n) * temp**2


def _pair(n=5, c=7, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, c, generator=g) * 3, torch.randn(n, c, generator=g) * 5 + 1


# ---------------------------------------------------------------- logit standardization
def test_kd_ls_hand_worked():
    # teacher (1, 2, 3): mean 2, unbiased std 1 -> Z = (-1, 0, 1); student (3, 2, 1) -> (1, 0, -1).
    # T = 1: KL = p0 (-1 - 1) + p2 (1 + 1) = 2 (e - 1/e) / (1/e + 1 + e) = 1.150...
    t, s = torch.tensor([[1., 2., 3.]]), torch.tensor([[3., 2., 1.]])
    e = math.e
    hand = 2 * (e - 1 / e) / (1 / e + 1 + e)
    assert KDLoss(logit_stand=True, base_temp=1.0)(s, t).item() == pytest.approx(hand, rel=1e-5)
    # base_temp 2 replaces tau and the factor is 2^2: p = softmax((-1, 0, 1) / 2), q reversed,
    # log p - log q = (-1, 0, 1), so KL = p2 - p0 and the loss is 4 (p2 - p0)
    w = [math.exp(-0.5), 1.0, math.exp(0.5)]
    p = [v / sum(w) for v in w]
    hand2 = 4 * (p[2] - p[0])
    assert KDLoss(tau=4.0, logit_stand=True, base_temp=2.0)(s, t).item() == \
        pytest.approx(hand2, rel=1e-5)


def test_kd_ls_is_shift_and_scale_invariant_unlike_kd():
    # student = 2 * teacher + 5: same Z-scores, so LS-KD is 0 while plain KD is not
    t = torch.tensor([[1., 2., 3., 7.]])
    s = 2 * t + 5
    assert KDLoss(logit_stand=True, base_temp=2.0)(s, t).item() == pytest.approx(0, abs=1e-6)
    assert KDLoss(tau=2.0)(s, t).item() > 0.1


@pytest.mark.parametrize('temp', [1.0, 2.0, 3.0])
def test_kd_ls_matches_reference(temp):
    s, t = _pair()
    loss = KDLoss(tau=4.0, logit_stand=True, base_temp=temp, loss_weight=9.0)(s, t)
    assert loss.item() == pytest.approx(9.0 * kd_ls_reference(s.double().numpy(),
                                                              t.double().numpy(), temp), rel=1e-5)
    # without base_temp the temperature is tau
    loss = KDLoss(tau=temp, logit_stand=True)(s, t)
    assert loss.item() == pytest.approx(kd_ls_reference(s.double().numpy(), t.double().numpy(),
                                                        temp), rel=1e-5)


def test_dkd_ls_matches_reference():
    s, t = _pair(seed=3)
    labels = [0, 3, 6, 2, 2]
    loss = DKDLoss(alpha=9.0, beta=81.0, tau=4.0, logit_stand=True, base_temp=2.0)(
        s, t, gt_labels=torch.tensor(labels))
    expected = dkd_ls_reference(s.double().numpy(), t.double().numpy(), labels, 9.0, 81.0, 2.0)
    assert loss.item() == pytest.approx(expected, rel=1e-4)
    # plain DKD is unchanged by the option being off
    plain = DKDLoss(alpha=1.0, beta=8.0, tau=4.0)(s, t, gt_labels=torch.tensor(labels))
    assert plain.item() != pytest.approx(loss.item(), rel=1e-2)


def test_ls_gradients_and_errors():
    s, t = _pair()
    s.requires_grad_(True)
    t.requires_grad_(True)
    KDLoss(logit_stand=True, base_temp=2.0)(s, t).backward()
    assert s.grad.abs().sum() > 0 and t.grad is None
    # a Z-score is invariant to adding a constant per row: the gradient sums to 0 per sample
    assert s.grad.sum(dim=1).abs().max() < 1e-5
    with pytest.raises(ValueError, match='logit_stand=True'):
        KDLoss(base_temp=2.0)
    with pytest.raises(ValueError, match='logit_stand=True'):
        DKDLoss(base_temp=2.0)
    with pytest.raises(ValueError, match='at least 2 classes'):
        KDLoss(logit_stand=True)(torch.ones(3, 1), torch.ones(3, 1))


# ---------------------------------------------------------------- MLKD
def mlkd_reference(s: np.ndarray, t: np.ndarray, temps, weight=1.0, logit_stand=False) -> float:
    """The official weak-view terms, written out with loops and numpy.percentile."""
    n, c = s.shape
    pt1 = [_softmax(r) for r in t.tolist()]
    conf = [max(r) for r in pt1]
    m = float(np.mean([v <= np.percentile(conf, 50) for v in conf]))
    class_conf = [sum(pt1[i][k] for i in range(n)) for k in range(c)]
    cf = float(np.mean([v <= np.percentile(class_conf, 50) for v in class_conf]))
    total = 0.0
    for temp in temps:
        srows = [_zscore(r) if logit_stand else r for r in s.tolist()]
        trows = [_zscore(r) if logit_stand else r for r in t.tolist()]
        kd = sum(_kl(_softmax(tr, temp), _softmax(sr, temp))
                 for sr, tr in zip(srows, trows)) / n * temp**2
        ps = [_softmax(r, temp) for r in s.tolist()]
        pt = [_softmax(r, temp) for r in t.tolist()]
        bc = sum((sum(pt[i][k] * pt[j][k] for k in range(c)) -
                  sum(ps[i][k] * ps[j][k] for k in range(c)))**2
                 for i in range(n) for j in range(n)) / n
        cc = sum((sum(pt[i][a] * pt[i][b] for i in range(n)) -
                  sum(ps[i][a] * ps[i][b] for i in range(n)))**2
                 for a in range(c) for b in range(c)) / c
        total += m * kd + m * bc + cf * cc
    return weight * total


@pytest.mark.parametrize('n', [4, 5])
def test_mlkd_matches_reference(n):
    s, t = _pair(n=n, c=6, seed=n)
    loss = MLKDLoss()(s, t)
    ref = mlkd_reference(s.double().numpy(), t.double().numpy(), (4.0, 3.0, 5.0, 2.0, 6.0))
    assert loss.item() == pytest.approx(ref, rel=1e-5)
    # logit standardization: base_temp replaces the first temperature; weight 9
    loss = MLKDLoss(loss_weight=9.0, logit_stand=True, base_temp=2.0)(s, t)
    ref = mlkd_reference(s.double().numpy(), t.double().numpy(), (2.0, 3.0, 5.0, 2.0, 6.0),
                         weight=9.0, logit_stand=True)
    assert loss.item() == pytest.approx(ref, rel=1e-5)


def test_mlkd_hand_worked():
    # one temperature, N = 2, C = 2. Teacher logits (0, 0) twice: P_t = 1/2 everywhere, teacher
    # confidences equal -> both <= median -> m = 1; class sums (1, 1) -> c = 1.
    # Student (x, -x) with softmax (a, 1 - a), a = sigmoid(2x) for both rows.
    # KD = KL((1/2, 1/2) || (a, 1 - a)) = -log 2 - (log a + log(1 - a)) / 2
    # BC: every entry P P' is a^2 + (1 - a)^2 vs 1/2: 4 entries / N = 2 (a^2 + (1-a)^2 - 1/2)^2
    # CC: P'P = [[2a^2, 2a(1-a)], [2a(1-a), 2(1-a)^2]] vs all 1/2, divided by C = 2
    x = 0.5
    a = 1 / (1 + math.exp(-2 * x))
    kd = -math.log(2) - (math.log(a) + math.log(1 - a)) / 2
    bc = 4 * (a**2 + (1 - a)**2 - 0.5)**2 / 2
    cc = ((2 * a * a - 0.5)**2 + 2 * (2 * a * (1 - a) - 0.5)**2 + (2 * (1 - a)**2 - 0.5)**2) / 2
    s = torch.tensor([[x, -x], [x, -x]])
    t = torch.zeros(2, 2)
    assert MLKDLoss(temperatures=[1.0])(s, t).item() == pytest.approx(kd + bc + cc, rel=1e-5)
    # identical logits: every term is 0
    assert MLKDLoss()(t + s, t + s).item() == pytest.approx(0.0, abs=1e-7)


def test_mlkd_median_fractions():
    # four distinct values: the median (0.6) lies between the 2nd and 3rd -> 2 of 4 are <= it;
    # three values: the median is the middle one -> 2 of 3
    from kd.losses.logits.mlkd import median_fraction
    assert median_fraction(torch.tensor([0.9, 0.2, 0.5, 0.7])).item() == 0.5
    assert median_fraction(torch.tensor([0.9, 0.2, 0.5])).item() == pytest.approx(2 / 3)


def test_mlkd_gradients_errors_and_build(tmp_path):
    s, t = _pair()
    s.requires_grad_(True)
    t.requires_grad_(True)
    MLKDLoss()(s, t).backward()
    assert s.grad.abs().sum() > 0 and t.grad is None
    with pytest.raises(ValueError, match='positive'):
        MLKDLoss(temperatures=[])
    with pytest.raises(ValueError, match='logit_stand=True'):
        MLKDLoss(base_temp=2.0)
    with pytest.raises(ValueError, match='same shape'):
        MLKDLoss()(s, t[:, :3])
    assert type(build_kd_module(dict(type='MLKDLoss'))) is MLKDLoss
    cfg, ckpt, _ = write_toy_teacher(tmp_path)
    model = SingleTeacherDistiller(
        student=toy_cfg(width=4, out=8), teacher=dict(config=cfg, checkpoint=ckpt),
        distill=dict(logits=dict(student='head', teacher='head',
                                 loss=dict(type='MLKDLoss', logit_stand=True, base_temp=2.0))),
        probe_shape=(3, 16, 16))
    losses = model.loss(*toy_batch())
    assert torch.isfinite(losses['distill.logits']) and losses['distill.logits'] > 0
