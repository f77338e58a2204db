"""LayerwiseSelfDistiller (BYOT): exits learn from the network's own detached deepest logits."""
import math

import pytest
import torch

import kd  # noqa: F401
from kd.connectors import ExitClassifierConnector
from kd.distillers import LayerwiseSelfDistiller
from kd.losses import BYOTLoss

STUDENT = dict(type='kd.ImageClassifier',
               data_preprocessor=dict(type='ClsDataPreprocessor', mean=[0.] * 3, std=[1.] * 3),
               backbone=dict(type='CifarResNet', depth=8, base_channels=8),
               head=dict(type='LinearClsHead', num_classes=5, in_channels=32))


def _distiller(**kwargs):
    distill = dict(
        exit1=dict(student=dict(source='backbone', index=0), teacher='head.fc',
                   connector=dict(type='ExitClassifierConnector', num_downsamples=2),
                   loss=dict(type='BYOTLoss', alpha=0.3, tau=3.0)))
    return LayerwiseSelfDistiller(student=STUDENT, distill=distill, probe_shape=(3, 16, 16),
                                  **kwargs)


def test_byot_loss_matches_hand_transcription():
    s = torch.tensor([[1.0, 0.0, -1.0], [0.5, 0.5, 2.0]])
    t = torch.tensor([[2.0, 1.0, 0.0], [0.0, 0.0, 3.0]])
    y = torch.tensor([0, 2])
    alpha, tau = 0.3, 3.0

    def softmax(row, temp=1.0):
        e = [math.exp(v / temp) for v in row]
        return [v / sum(e) for v in e]

    ce = sum(-math.log(softmax(s[i].tolist())[y[i]]) for i in range(2)) / 2
    kl = 0.0
    for i in range(2):
        p, q = softmax(t[i].tolist(), tau), softmax(s[i].tolist(), tau)
        kl += sum(pj * (math.log(pj) - math.log(qj)) for pj, qj in zip(p, q))
    expected = 2.0 * ((1 - alpha) * ce + alpha * tau ** 2 * kl / 2)
    got = BYOTLoss(alpha=alpha, tau=tau, loss_weight=2.0)(s, t, gt_labels=y)
    assert got.item() == pytest.approx(expected, rel=1e-6)


def test_byot_loss_errors():
    with pytest.raises(ValueError, match='same shape'):
        BYOTLoss()(torch.zeros(2, 3), torch.zeros(2, 4), gt_labels=torch.zeros(2).long())
    with pytest.raises(ValueError, match='needs labels'):
        BYOTLoss()(torch.zeros(2, 3), torch.zeros(2, 3))
    with pytest.raises(ValueError, match='alpha'):
        BYOTLoss(alpha=1.5)


def test_exit_classifier_shapes_and_channels():
    exit_ = ExitClassifierConnector(in_channels=8, out_features=5, num_downsamples=2)
    assert exit_(torch.randn(2, 8, 16, 16)).shape == (2, 5)
    assert exit_.fc.in_features == 32      # 8 -> 16 -> 32
    with pytest.raises(ValueError, match='in_channels=8'):
        exit_(torch.randn(2, 4, 16, 16))


def test_probe_fills_the_exit_and_no_teacher_exists():
    model = _distiller()
    exit_ = model.entries['exit1'].connectors[0]
    assert exit_.in_channels == 8 and exit_.fc.out_features == 5
    assert model.teacher is None
    # the exits are distiller modules, not part of the student
    assert not any('exit' in k or 'bottleneck' in k for k in model.student.state_dict())
    with pytest.raises(TypeError, match='teacher'):
        LayerwiseSelfDistiller(student=STUDENT, teacher=dict(config='x.py'),
                               distill=dict(a=dict(student='backbone', teacher='head.fc',
                                                   loss=dict(type='BYOTLoss'))))


def test_teacher_record_is_the_networks_own_detached_logits():
    torch.manual_seed(0)
    model = _distiller(calculate_student_loss=False)   # the forward without task loss
    model.train()
    inputs = torch.randn(4, 3, 16, 16)
    labels = torch.tensor([0, 1, 2, 3])
    loss_fn = model.entries['exit1'].losses[0]
    seen = {}
    original = loss_fn.forward

    def spy(student, teacher, data_samples=None, **kw):
        seen['teacher'] = teacher
        return original(student, teacher, gt_labels=labels)

    loss_fn.forward = spy
    losses = model.loss(inputs, None)
    with torch.no_grad():   # same weights, same train-mode BatchNorm: the same logits
        logits = model.student(inputs, mode='tensor')
    assert not seen['teacher'].requires_grad
    assert torch.allclose(seen['teacher'], logits, atol=1e-5)
    # the KD/CE exit loss trains the exit and the shallow stage, never the deepest head
    model.zero_grad()
    losses['distill.exit1'].backward()
    assert model.student.head.fc.weight.grad is None or \
        model.student.head.fc.weight.grad.abs().sum() == 0
    assert model.entries['exit1'].connectors[0].fc.weight.grad.abs().sum() > 0
    assert any(p.grad is not None and p.grad.abs().sum() > 0
               for p in model.student.backbone.layer1.parameters())
    assert all(p.grad is None or p.grad.abs().sum() == 0
               for p in model.student.backbone.layer3.parameters())
