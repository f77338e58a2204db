"""YOLOObjectnessKDLoss against a loop transcription and hand-worked numbers."""
import math

import pytest
import torch

from kd.losses import YOLOObjectnessKDLoss


def _sig(x):
    return 1 / (1 + math.exp(-x))


def _bce(x, p):
    """BCE of logit x with a soft target p."""
    return -(p * math.log(_sig(x)) + (1 - p) * math.log(1 - _sig(x)))


def _reference(students, teachers, anchors, wh, obj_target, reduction, weights=(1, 1, 1)):
    total = 0.0
    for s, t in zip(students, teachers):
        n, c, h, w = s.shape
        attrib = c // anchors
        reg = cls = obj = 0.0
        for b in range(n):
            for a in range(anchors):
                for i in range(h):
                    for j in range(w):
                        sv = [s[b, a * attrib + k, i, j].item() for k in range(attrib)]
                        tv = [t[b, a * attrib + k, i, j].item() for k in range(attrib)]
                        gate = _sig(tv[4])
                        d = [sv[k] - tv[k] for k in (2, 3)]
                        dwh = sum(abs(x) if wh == 'l1' else x * x for x in d)
                        reg += gate * (_bce(sv[0], _sig(tv[0])) + _bce(sv[1], _sig(tv[1])) + dwh)
                        cls += gate * sum(_bce(sv[k], _sig(tv[k])) for k in range(5, attrib))
                        target = gate if obj_target == 'soft' else float(tv[4] > 0)
                        obj += _bce(sv[4], target)
        if reduction == 'mean':
            positions = n * anchors * h * w
            reg, cls, obj = reg / positions, cls / (positions * (attrib - 5)), obj / positions
        total += weights[0] * reg + weights[1] * cls + weights[2] * obj
    return total


def _levels(seed, anchors=3, classes=2):
    g = torch.Generator().manual_seed(seed)
    c = anchors * (5 + classes)
    s = [torch.randn(2, c, 3, 3, generator=g), torch.randn(2, c, 2, 2, generator=g)]
    t = [torch.randn(2, c, 3, 3, generator=g) * 2, torch.randn(2, c, 2, 2, generator=g) * 2]
    return s, t


@pytest.mark.parametrize('wh,obj_target,reduction', [('l1', 'soft', 'mean'),
                                                     ('l2', 'hard', 'mean'),
                                                     ('l1', 'hard', 'sum'),
                                                     ('l2', 'soft', 'sum')])
def test_matches_transcription(wh, obj_target, reduction):
    s, t = _levels(0)
    loss = YOLOObjectnessKDLoss(num_anchors=3, num_classes=2, wh_loss=wh, obj_target=obj_target,
                                reduction=reduction, reg_weight=0.5, cls_weight=2.0,
                                obj_weight=1.5, loss_weight=3.0)
    ref = _reference(s, t, 3, wh, obj_target, reduction, weights=(0.5, 2.0, 1.5))
    assert loss(s, t).item() == pytest.approx(3.0 * ref, rel=1e-5)


def test_one_level_tensor_and_levelwise_sum_agree():
    s, t = _levels(1)
    loss = YOLOObjectnessKDLoss()
    whole = loss(s, t)
    assert whole.item() == pytest.approx((loss(s[0], t[0]) + loss(s[1], t[1])).item(), rel=1e-6)


def test_hand_worked():
    # one anchor, one class, one position. Student all zeros (probabilities 1/2).
    # Teacher: x = y = 0, w = 1, h = -1, obj = ln 3 (gate 3/4), class = 0.
    # reg = 3/4 * (ln2 + ln2 + |0-1| + |0+1|) = 3/4 * (2 ln2 + 2)
    # cls = 3/4 * ln2 ; obj = BCE(0, 3/4) = ln2
    t = torch.tensor([0.0, 0.0, 1.0, -1.0, math.log(3), 0.0]).reshape(1, 6, 1, 1)
    s = torch.zeros(1, 6, 1, 1)
    loss = YOLOObjectnessKDLoss(num_anchors=1, num_classes=1)
    ln2 = math.log(2)
    expected = 0.75 * (2 * ln2 + 2) + 0.75 * ln2 + ln2
    assert loss(s, t).item() == pytest.approx(expected, rel=1e-6)
    # 'hard' objectness: target 1 (ln 3 > 0), BCE(0, 1) = ln2 as well; l2 wh: 1 + 1 = 2 too
    hard = YOLOObjectnessKDLoss(num_anchors=1, obj_target='hard', wh_loss='l2')
    assert hard(s, t).item() == pytest.approx(expected, rel=1e-6)
    # a teacher with no object (obj -> -inf) switches the box and class terms off
    t_bg = t.clone()
    t_bg[0, 4] = -30.0
    assert loss(s, t_bg).item() == pytest.approx(ln2 + 0 + 0, abs=1e-6)  # obj BCE(0, ~0) = ln2


def test_minimum_at_teacher_gradients_student_only():
    s, t = _levels(2)
    t = [x.requires_grad_(True) for x in t]
    s_eq = [x.detach().clone().requires_grad_(True) for x in t]
    loss = YOLOObjectnessKDLoss(num_classes=2)
    loss(s_eq, t).backward()
    for x in s_eq:  # every term is stationary where the student equals the teacher
        assert x.grad.abs().max().item() < 1e-7
    assert all(x.grad is None for x in t)
    at_teacher = loss([x.detach() for x in t], t).item()
    s2 = [x.requires_grad_(True) for x in s]
    value = loss(s2, t)
    assert value.item() > at_teacher
    value.backward()
    assert all(x.grad.abs().sum() > 0 for x in s2)
    assert all(x.grad is None for x in t)
    # the w/h terms (and only they) vanish at the teacher: with reg and cls switched off,
    # the remaining objectness term equals the teacher's binary entropy
    obj_only = YOLOObjectnessKDLoss(reg_weight=0, cls_weight=0, reduction='sum')
    entropy = sum(_bce(v, _sig(v)) for x in t for v in
                  x.detach().reshape(2, 3, 7, *x.shape[-2:])[:, :, 4].flatten().tolist())
    assert obj_only([x.detach() for x in t], t).item() == pytest.approx(entropy, rel=1e-5)


def test_shape_errors():
    loss = YOLOObjectnessKDLoss(num_anchors=3, num_classes=2)
    with pytest.raises(ValueError, match='differ'):
        loss(torch.zeros(1, 21, 3, 3), torch.zeros(1, 21, 2, 2))
    with pytest.raises(ValueError, match='levels'):
        loss([torch.zeros(1, 21, 3, 3)], [torch.zeros(1, 21, 3, 3)] * 2)
    with pytest.raises(ValueError, match='5 \\+ num_classes'):
        loss(torch.zeros(1, 20, 3, 3), torch.zeros(1, 20, 3, 3))
    with pytest.raises(ValueError, match='expected 5 \\+ num_classes = 7'):
        loss(torch.zeros(1, 24, 3, 3), torch.zeros(1, 24, 3, 3))
    with pytest.raises(ValueError, match='N, A'):
        loss(torch.zeros(21, 3), torch.zeros(21, 3))
    for bad in (dict(wh_loss='l3'), dict(obj_target='x'), dict(reduction='none'),
                dict(num_anchors=0), dict(num_classes=0)):
        with pytest.raises(ValueError):
            YOLOObjectnessKDLoss(**bad)
