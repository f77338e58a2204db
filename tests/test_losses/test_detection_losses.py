"""DenseHeadKDLoss against a direct transcription and hand-worked numbers."""
import math

import numpy as np
import pytest
import torch

from kd.losses import DenseHeadKDLoss


def _reference(students, teachers, tau, gamma):
    total, mass = 0.0, 0.0
    for s, t in zip(students, teachers):
        s = s.double().numpy().ravel()
        t = t.double().numpy().ravel()
        for sv, tv in zip(s, t):
            pt = 1 / (1 + math.exp(-tv / tau))
            ps = 1 / (1 + math.exp(-sv / tau))
            bce = -(pt * math.log(ps) + (1 - pt) * math.log(1 - ps))
            total += abs(pt - ps) ** gamma * bce
            mass += 1 / (1 + math.exp(-tv))
    return tau ** 2 * total / max(mass, 1.0)


@pytest.mark.parametrize('tau,gamma', [(1.0, 0.0), (1.0, 2.0), (2.0, 1.0)])
def test_matches_transcription_over_levels(tau, gamma):
    g = torch.Generator().manual_seed(0)
    s = [torch.randn(2, 6, 4, 4, generator=g), torch.randn(2, 6, 2, 2, generator=g)]
    t = [torch.randn(2, 6, 4, 4, generator=g) * 3, torch.randn(2, 6, 2, 2, generator=g) * 3]
    loss = DenseHeadKDLoss(tau=tau, gamma=gamma, loss_weight=0.5)(s, t)
    assert loss.item() == pytest.approx(0.5 * _reference(s, t, tau, gamma), rel=1e-5)


def test_hand_worked():
    # one element: s = 0 (p_s = 0.5), t = log 3 (p_t = 0.75); gamma 0, tau 1
    # BCE = -(0.75 ln 0.5 + 0.25 ln 0.5) = ln 2; mass 0.75 -> clamped to 1
    loss = DenseHeadKDLoss(gamma=0.0)(torch.zeros(1, 1, 1, 1),
                                      torch.full((1, 1, 1, 1), math.log(3)))
    assert loss.item() == pytest.approx(math.log(2), rel=1e-6)
    # gamma 2 multiplies by |0.75 - 0.5|^2 = 0.0625
    loss2 = DenseHeadKDLoss(gamma=2.0)(torch.zeros(1, 1, 1, 1),
                                       torch.full((1, 1, 1, 1), math.log(3)))
    assert loss2.item() == pytest.approx(0.0625 * math.log(2), rel=1e-6)


def test_minimum_at_teacher_and_gradients_student_only():
    t = torch.randn(1, 4, 3, 3)
    s = t.clone().requires_grad_(True)
    t.requires_grad_(True)
    loss = DenseHeadKDLoss(gamma=2.0)(s, t)
    assert loss.item() == pytest.approx(0.0, abs=1e-7)  # weight |p_t - p_s|^2 = 0
    s2 = (t.detach() + 0.5).requires_grad_(True)
    DenseHeadKDLoss(gamma=0.0)(s2, t).backward()
    assert s2.grad is not None and t.grad is None
    # with gamma=0 the soft-target BCE is minimised at the teacher's logits
    base = DenseHeadKDLoss(gamma=0.0)(t.detach(), t.detach()).item()
    assert DenseHeadKDLoss(gamma=0.0)(t.detach() + 0.3, t.detach()).item() > base
    assert np.isfinite(base)


def test_shape_errors():
    with pytest.raises(ValueError, match='share anchors'):
        DenseHeadKDLoss()(torch.zeros(1, 9, 4, 4), torch.zeros(1, 18, 4, 4))
    with pytest.raises(ValueError, match='levels'):
        DenseHeadKDLoss()([torch.zeros(1, 9, 4, 4)], [torch.zeros(1, 9, 4, 4)] * 2)
