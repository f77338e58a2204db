"""Logit losses (DKD, DIST, WSLD, L2/L1, soft CE, KD options) against independent values.

Each reference transcribes the paper's formula with explicit Python loops in
float64 (no torch, nothing shared with ``kd``); the tiny examples are worked
out by hand in the comments. The last section distils through
``SingleTeacherDistiller``.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.dataset import pseudo_collate
from mmengine.logging import MessageHub
from mmengine.optim import OptimWrapper
from mmengine.structures import BaseDataElement

from kd.datasets.transforms import PackClsInputs
from kd.distillers import SingleTeacherDistiller
from kd.losses import (
    DISTLoss,
    DKDLoss,
    KDLoss,
    LogitsL1Loss,
    LogitsMSELoss,
    SoftCrossEntropyLoss,
    WSLDLoss,
    labels_from_data_samples,
)
from kd.models.backbones import CifarResNet  # noqa: F401 (registers it)
from kd.models.classifiers import ImageClassifier  # noqa: F401 (registers it)
from kd.registry import MODELS, build_kd_module

from ..test_distillers.toy_models import toy_batch, toy_cfg


# ------------------------------------------------------------ references (loops)
def _softmax(values, tau: float = 1.0) -> list[float]:
    exps = [math.exp(float(v) / tau) for v in values]
    total = sum(exps)
    return [e / total for e in exps]


def _kl(p, q) -> float:
    return sum(pi * math.log(pi / qi) for pi, qi in zip(p, q) if pi > 0)


def dkd_reference(s: np.ndarray, t: np.ndarray, labels, alpha, beta, tau) -> float:
    """TCKD on (p_y, 1 - p_y); NCKD on the softmax renormalised over classes != y."""
    n, c = s.shape
    tckd = nckd = 0.0
    for i in range(n):
        y = int(labels[i])
        p_t, p_s = _softmax(t[i], tau), _softmax(s[i], tau)
        tckd += _kl([p_t[y], 1 - p_t[y]], [p_s[y], 1 - p_s[y]])
        others = [k for k in range(c) if k != y]
        nt_t = [p_t[k] / (1 - p_t[y]) for k in others]
        nt_s = [p_s[k] / (1 - p_s[y]) for k in others]
        nckd += _kl(nt_t, nt_s)
    return tau**2 * (alpha * tckd / n + beta * nckd / n)


def _pearson(a: list[float], b: list[float], eps: float = 1e-8) -> float:
    ma, mb = sum(a) / len(a), sum(b) / len(b)
    da, db = [x - ma for x in a], [x - mb for x in b]
    num = sum(x * y for x, y in zip(da, db))
    return num / (math.sqrt(sum(x * x for x in da)) * math.sqrt(sum(y * y for y in db)) + eps)


def dist_reference(s: np.ndarray, t: np.ndarray, beta, gamma, tau) -> float:
    n, c = s.shape
    y_s = [_softmax(s[i], tau) for i in range(n)]
    y_t = [_softmax(t[i], tau) for i in range(n)]
    inter = 1 - sum(_pearson(y_s[i], y_t[i]) for i in range(n)) / n
    intra = 1 - sum(_pearson([y_s[i][k] for i in range(n)], [y_t[i][k] for i in range(n)])
                    for k in range(c)) / c
    return tau**2 * (beta * inter + gamma * intra)


def wsld_reference(s: np.ndarray, t: np.ndarray, labels, tau) -> float:
    n = s.shape[0]
    total = 0.0
    for i in range(n):
        y = int(labels[i])
        ce_s = -math.log(_softmax(s[i])[y])
        ce_t = -math.log(_softmax(t[i])[y])
        weight = 1 - math.exp(-max(ce_s / (ce_t + 1e-7), 0.0))
        total += weight * _kl(_softmax(t[i], tau), _softmax(s[i], tau))
    return tau**2 * total / n


def soft_ce_reference(s: np.ndarray, t: np.ndarray, tau) -> float:
    n = s.shape[0]
    total = 0.0
    for i in range(n):
        p, q = _softmax(t[i], tau), _softmax(s[i], tau)
        total += -sum(pk * math.log(qk) for pk, qk in zip(p, q))
    return tau**2 * total / n


def _pair(*shape: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    student = torch.randn(*shape, generator=gen, dtype=torch.float64) * 2
    teacher = torch.randn(*shape, generator=gen, dtype=torch.float64) * 2
    return student, teacher


def _labels(n: int, c: int, seed: int = 1) -> torch.Tensor:
    return torch.randint(0, c, (n, ), generator=torch.Generator().manual_seed(seed))


def _check_gradients(loss_fn, shape, **kwargs) -> None:
    student, teacher = _pair(*shape)
    student.requires_grad_(True)
    teacher.requires_grad_(True)
    loss = loss_fn(student, teacher, **kwargs)
    assert loss.dim() == 0
    loss.backward()
    assert student.grad is not None and student.grad.abs().sum() > 0
    assert teacher.grad is None


# ------------------------------------------------------------------ labels helper
def test_labels_from_data_samples_formats():
    samples = [BaseDataElement(gt_label=torch.tensor([2])),
               BaseDataElement(gt_label=torch.tensor(0)),
               dict(gt_label=torch.tensor([1])), dict(label=torch.tensor(4)), dict(label=3)]
    labels = labels_from_data_samples(samples)
    assert labels.dtype == torch.long and labels.tolist() == [2, 0, 1, 4, 3]
    with pytest.raises(KeyError, match='gt_label'):
        labels_from_data_samples([BaseDataElement(score=torch.zeros(2))])
    with pytest.raises(KeyError, match='label'):
        labels_from_data_samples([dict(target=1)])
    with pytest.raises(ValueError, match=r'\(2,\)'):
        labels_from_data_samples([dict(label=torch.tensor([1, 2]))])


# ------------------------------------------------------------------------- DKD
@pytest.mark.parametrize('alpha,beta,tau', [(1.0, 8.0, 4.0), (0.5, 2.0, 1.0)])
def test_dkd_matches_reference(alpha, beta, tau):
    student, teacher = _pair(6, 5)
    labels = _labels(6, 5)
    loss = DKDLoss(alpha=alpha, beta=beta, tau=tau, loss_weight=0.5)(
        student, teacher, gt_labels=labels)
    expected = 0.5 * dkd_reference(student.numpy(), teacher.numpy(), labels, alpha, beta, tau)
    assert loss.item() == pytest.approx(expected, rel=1e-9)


def test_dkd_hand_worked():
    # tau = 1. Sample 1, label 0: teacher (ln 2, 0, 0) -> (1/2, 1/4, 1/4), student
    # (0, 0, 0) -> 1/3 each. TCKD = KL((1/2, 1/2) || (1/3, 2/3)) = 1/2 ln(9/8) = 0.058892;
    # non-target parts both (1/2, 1/2): NCKD = 0.
    # Sample 2, label 2: teacher (ln 3, 0, 0) -> (3/5, 1/5, 1/5), student (0, 0, ln 2)
    # -> (1/4, 1/4, 1/2). TCKD = KL((1/5, 4/5) || (1/2, 1/2)) = 0.2 ln 0.4 + 0.8 ln 1.6
    # = 0.192745; non-target (3/4, 1/4) vs (1/2, 1/2): NCKD = 0.130812.
    # Means: TCKD 0.125818, NCKD 0.065406; alpha 1, beta 8: 0.125818 + 0.523248 = 0.649066
    student = torch.tensor([[0.0, 0.0, 0.0], [0.0, 0.0, math.log(2.0)]])
    teacher = torch.tensor([[math.log(2.0), 0.0, 0.0], [math.log(3.0), 0.0, 0.0]])
    samples = [dict(label=torch.tensor(0)), BaseDataElement(gt_label=torch.tensor([2]))]
    loss = DKDLoss(alpha=1.0, beta=8.0, tau=1.0)(student, teacher, samples)
    assert loss.item() == pytest.approx(0.649066, abs=1e-6)
    tckd_only = DKDLoss(alpha=1.0, beta=0.0, tau=1.0)(student, teacher, samples)
    assert tckd_only.item() == pytest.approx(0.125818, abs=1e-6)
    nckd_only = DKDLoss(alpha=0.0, beta=1.0, tau=1.0)(student, teacher, samples)
    assert nckd_only.item() == pytest.approx(0.065406, abs=1e-6)


def test_dkd_zero_for_identical_logits_and_saturation():
    student, _ = _pair(4, 6)
    labels = _labels(4, 6)
    assert DKDLoss()(student, student.clone(), gt_labels=labels).item() == pytest.approx(
        0.0, abs=1e-12)
    # a saturated student (target prob 1 in float32) stays finite
    sat = torch.tensor([[80.0, 0.0, 0.0]])
    loss = DKDLoss(tau=1.0)(sat, torch.zeros(1, 3), gt_labels=torch.tensor([0]))
    assert torch.isfinite(loss)


def test_dkd_warmup_from_argument_and_message_hub():
    student, teacher = _pair(3, 4)
    labels = _labels(3, 4)
    full = DKDLoss()(student, teacher, gt_labels=labels)
    warm = DKDLoss(warmup_iters=10)
    # iteration 4 (0-based) is the 5th: factor 5 / 10
    assert warm(student, teacher, gt_labels=labels, iteration=4).item() == pytest.approx(
        0.5 * full.item(), rel=1e-12)
    assert warm(student, teacher, gt_labels=labels, iteration=50).item() == pytest.approx(
        full.item(), rel=1e-12)
    name = 'kd_test_dkd_warmup'
    hub = MessageHub.get_instance(name)
    try:
        with pytest.warns(UserWarning, match='iteration is unknown'):
            assert warm(student, teacher, gt_labels=labels).item() == pytest.approx(full.item())
        hub.update_info('iter', 1)
        assert warm(student, teacher, gt_labels=labels).item() == pytest.approx(
            0.2 * full.item(), rel=1e-12)
    finally:
        MessageHub._instance_dict.pop(name, None)


def test_dkd_gradients_and_errors():
    _check_gradients(DKDLoss(), (4, 5), gt_labels=_labels(4, 5))
    with pytest.raises(ValueError, match=r'\(2, 5\).*\(2, 6\)'):
        DKDLoss()(torch.zeros(2, 5), torch.zeros(2, 6), gt_labels=torch.tensor([0, 1]))
    with pytest.raises(ValueError, match='labels'):
        DKDLoss()(torch.zeros(2, 5), torch.zeros(2, 5))
    with pytest.raises(ValueError, match='3 labels'):
        DKDLoss()(torch.zeros(2, 5), torch.zeros(2, 5), gt_labels=torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match=r'\[0, 5\)'):
        DKDLoss()(torch.zeros(2, 5), torch.zeros(2, 5), gt_labels=torch.tensor([0, 5]))


# ------------------------------------------------------------------------ DIST
@pytest.mark.parametrize('beta,gamma,tau', [(1.0, 1.0, 1.0), (2.0, 0.5, 4.0)])
def test_dist_matches_reference(beta, gamma, tau):
    student, teacher = _pair(5, 7)
    loss = DISTLoss(beta=beta, gamma=gamma, tau=tau, loss_weight=2.0)(student, teacher)
    expected = 2.0 * dist_reference(student.numpy(), teacher.numpy(), beta, gamma, tau)
    assert loss.item() == pytest.approx(expected, rel=1e-9)


def test_dist_hand_worked():
    # With 2 classes a centred probability vector is (-a, a): each Pearson correlation
    # is +-1. Rows: sample 1 student (0, 1) favours class 1, teacher (1, 0) class 0 -> -1;
    # sample 2 both favour class 1 -> +1. inter = 1 - (-1 + 1) / 2 = 1.
    # Columns: class 0 student (s(-1), s(-2)) decreasing, teacher (s(1), s(-1))
    # decreasing -> +1; class 1 both increasing -> +1. intra = 1 - 1 = 0. Total 1.
    student = torch.tensor([[0.0, 1.0], [0.0, 2.0]])
    teacher = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    assert DISTLoss()(student, teacher).item() == pytest.approx(1.0, abs=1e-6)
    assert DISTLoss(beta=2.0, gamma=3.0)(student, teacher).item() == pytest.approx(2.0, abs=1e-6)
    # teacher favouring class 0 twice: both rows anti-correlate, inter = 1 - (-1) = 2;
    # each teacher column is constant (centred to 0, correlation 0), intra = 1. Total 3.
    teacher2 = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    assert DISTLoss()(student, teacher2).item() == pytest.approx(2 + 1, abs=1e-6)


def test_dist_zero_for_identical_logits_and_gradients():
    student, _ = _pair(4, 6)
    # zero up to the eps = 1e-8 added to the cosine's denominator
    same = DISTLoss(tau=2.0)(student, student.clone()).item()
    assert same == pytest.approx(0.0, abs=1e-4)
    assert same == pytest.approx(dist_reference(student.numpy(), student.numpy(), 1, 1, 2.0),
                                 rel=1e-6)
    _check_gradients(DISTLoss(tau=2.0), (4, 6))
    with pytest.raises(ValueError, match=r'\(2, 5\).*\(3, 5\)'):
        DISTLoss()(torch.zeros(2, 5), torch.zeros(3, 5))


# ------------------------------------------------------------------------ WSLD
@pytest.mark.parametrize('tau', [1.0, 2.0])
def test_wsld_matches_reference(tau):
    student, teacher = _pair(6, 5)
    labels = _labels(6, 5)
    samples = [dict(label=y) for y in labels]
    loss = WSLDLoss(tau=tau, loss_weight=2.5)(student, teacher, samples)
    expected = 2.5 * wsld_reference(student.numpy(), teacher.numpy(), labels, tau)
    assert loss.item() == pytest.approx(expected, rel=1e-9)


def test_wsld_gradient_equals_the_authors_soft_cross_entropy():
    # The authors' code weights the soft cross-entropy -sum p_t log p_s; it differs
    # from the KL only by w * H(p_t), so the student gradients must be identical.
    student, teacher = _pair(5, 4)
    labels = _labels(5, 4)
    s1 = student.clone().requires_grad_(True)
    WSLDLoss(tau=2.0)(s1, teacher, gt_labels=labels).backward()
    s2 = student.clone().requires_grad_(True)
    ce_s = -F.log_softmax(s2.detach(), 1)[torch.arange(5), labels]
    ce_t = -F.log_softmax(teacher, 1)[torch.arange(5), labels]
    weight = 1 - torch.exp(-(ce_s / (ce_t + 1e-7)).clamp(min=0))
    soft = -(F.softmax(teacher / 2, 1) * F.log_softmax(s2 / 2, 1)).sum(1)
    (4 * (weight * soft).mean()).backward()
    torch.testing.assert_close(s1.grad, s2.grad)


def test_wsld_zero_identical_gradients_and_errors():
    student, _ = _pair(4, 3)
    labels = _labels(4, 3)
    assert WSLDLoss()(student, student.clone(), gt_labels=labels).item() == pytest.approx(
        0.0, abs=1e-12)
    _check_gradients(WSLDLoss(), (4, 3), gt_labels=labels)
    with pytest.raises(ValueError, match=r'\(2, 5\).*\(2, 4\)'):
        WSLDLoss()(torch.zeros(2, 5), torch.zeros(2, 4), gt_labels=torch.tensor([0, 1]))
    with pytest.raises(ValueError, match='num_classes=10'):
        WSLDLoss(num_classes=10)(torch.zeros(2, 5), torch.zeros(2, 5),
                                 gt_labels=torch.tensor([0, 1]))
    with pytest.raises(ValueError, match='labels'):
        WSLDLoss()(torch.zeros(2, 5), torch.zeros(2, 5))


# --------------------------------------------------------------- L2 / L1 logits
@pytest.mark.parametrize('reduction', ['mean', 'sum'])
@pytest.mark.parametrize('tau', [1.0, 3.0])
def test_logits_lp_match_reference(reduction, tau):
    student, teacher = _pair(3, 4, 2)
    s, t = student.numpy().ravel() / tau, teacher.numpy().ravel() / tau
    sq = sum((a - b) ** 2 for a, b in zip(s, t))
    ab = sum(abs(a - b) for a, b in zip(s, t))
    if reduction == 'mean':
        sq, ab = sq / s.size, ab / s.size
    mse = LogitsMSELoss(loss_weight=2.0, reduction=reduction, tau=tau)(student, teacher)
    l1 = LogitsL1Loss(loss_weight=2.0, reduction=reduction, tau=tau)(student, teacher)
    assert mse.item() == pytest.approx(2 * sq, rel=1e-10)
    assert l1.item() == pytest.approx(2 * ab, rel=1e-10)


def test_logits_lp_hand_worked_zero_gradients_errors():
    # differences (1, -2, 0, 3) -> squares 1 + 4 + 0 + 9 = 14, mean 3.5; |.| sum 6, mean 1.5
    student = torch.tensor([[1.0, 0.0], [2.0, 3.0]])
    teacher = torch.tensor([[0.0, 2.0], [2.0, 0.0]])
    assert LogitsMSELoss()(student, teacher).item() == pytest.approx(3.5)
    assert LogitsL1Loss()(student, teacher).item() == pytest.approx(1.5)
    assert LogitsMSELoss(tau=2.0)(student, teacher).item() == pytest.approx(3.5 / 4)
    assert LogitsL1Loss(reduction='sum')(student, teacher).item() == pytest.approx(6.0)
    assert LogitsMSELoss()(student, student.clone()).item() == 0.0
    _check_gradients(LogitsMSELoss(), (3, 4))
    _check_gradients(LogitsL1Loss(), (3, 4))
    for cls in (LogitsMSELoss, LogitsL1Loss):
        with pytest.raises(ValueError, match=r'\(2, 5\).*\(2, 6\)'):
            cls()(torch.zeros(2, 5), torch.zeros(2, 6))
        with pytest.raises(ValueError, match='reduction'):
            cls(reduction='batchmean')


# ------------------------------------------------------------------- soft CE
@pytest.mark.parametrize('tau', [1.0, 4.0])
def test_soft_ce_matches_reference(tau):
    student, teacher = _pair(4, 6)
    loss = SoftCrossEntropyLoss(tau=tau, loss_weight=0.5)(student, teacher)
    expected = 0.5 * soft_ce_reference(student.numpy(), teacher.numpy(), tau)
    assert loss.item() == pytest.approx(expected, rel=1e-9)


def test_soft_ce_hand_worked_gradients_errors():
    # teacher (ln 3, 0) -> (3/4, 1/4); student (0, 0) -> (1/2, 1/2): CE = ln 2 = 0.693147;
    # identical logits give the teacher entropy 3/4 ln(4/3) + 1/4 ln 4 = 0.562335
    student = torch.tensor([[0.0, 0.0]])
    teacher = torch.tensor([[math.log(3.0), 0.0]])
    assert SoftCrossEntropyLoss()(student, teacher).item() == pytest.approx(0.693147, abs=1e-6)
    assert SoftCrossEntropyLoss()(teacher, teacher).item() == pytest.approx(0.562335, abs=1e-6)
    # CE - KD = teacher entropy * tau^2 for any student
    s, t = _pair(3, 5)
    diff = SoftCrossEntropyLoss(tau=2.0)(s, t) - KDLoss(tau=2.0)(s, t)
    entropy = sum(-sum(p * math.log(p) for p in _softmax(row, 2.0)) for row in t.numpy()) / 3
    assert diff.item() == pytest.approx(4 * entropy, rel=1e-9)
    _check_gradients(SoftCrossEntropyLoss(tau=2.0), (3, 5))
    with pytest.raises(ValueError, match=r'\(2, 5\).*\(2, 6\)'):
        SoftCrossEntropyLoss()(torch.zeros(2, 5), torch.zeros(2, 6))


# ------------------------------------------------------------- KD teacher_detach
def test_kd_teacher_detach_false_lets_gradients_reach_the_teacher():
    student, teacher = _pair(3, 4)
    s, t = student.clone().requires_grad_(True), teacher.clone().requires_grad_(True)
    online = KDLoss(tau=2.0, teacher_detach=False)(s, t)
    online.backward()
    assert t.grad is not None and t.grad.abs().sum() > 0
    assert online.item() == pytest.approx(KDLoss(tau=2.0)(student, teacher).item(), rel=1e-12)
    _check_gradients(KDLoss(tau=2.0), (3, 4))      # the default still detaches


# ------------------------------------------------------------------- registry
@pytest.mark.parametrize('cfg,cls', [
    (dict(type='DKDLoss', beta=2.0, loss_weight=2.0), DKDLoss),
    (dict(type='DISTLoss', tau=2.0), DISTLoss),
    (dict(type='WSLDLoss', num_classes=10, loss_weight=2.5), WSLDLoss),
    (dict(type='LogitsMSELoss', reduction='sum'), LogitsMSELoss),
    (dict(type='LogitsL1Loss', tau=2.0), LogitsL1Loss),
    (dict(type='SoftCrossEntropyLoss', tau=4.0), SoftCrossEntropyLoss),
    (dict(type='KDLoss', teacher_detach=False), KDLoss),
])
def test_logit_losses_build_from_config(cfg, cls):
    assert type(build_kd_module(cfg)) is cls
    built = MODELS.build(dict(cfg, type='kd.' + cfg['type']))
    assert type(built) is cls and built.loss_weight == cfg.get('loss_weight', 1.0)


# ---------------------------------------------------------- through the distiller
def _write_teacher(tmp_path, model_cfg: dict, seed: int = 1):
    cfg = tmp_path / 'teacher.py'
    cfg.write_text(f"default_scope = 'kd'\nmodel = {model_cfg!r}\n")
    torch.manual_seed(seed)
    teacher = MODELS.build(model_cfg)
    ckpt = tmp_path / 'teacher.pth'
    torch.save({'state_dict': teacher.state_dict(), 'meta': {}}, ckpt)
    return dict(config=str(cfg), checkpoint=str(ckpt))


def _resnet(depth: int) -> dict:
    return dict(type='kd.ImageClassifier',
                backbone=dict(type='CifarResNet', depth=depth, base_channels=4),
                head=dict(num_classes=3, in_channels=16),
                data_preprocessor=dict(type='ClsDataPreprocessor', mean=[127.5] * 3,
                                       std=[64.0] * 3))


def _packed_batch(labels=(0, 2, 1, 2), size=8):
    rng = np.random.RandomState(0)
    pack = PackClsInputs()
    return pseudo_collate([pack(dict(img=rng.randint(0, 256, (size, size, 3), dtype=np.uint8),
                                     gt_label=label, sample_idx=i))
                           for i, label in enumerate(labels)])


def test_dkd_distils_resnet8_from_resnet20_logits(tmp_path):
    torch.manual_seed(0)
    model = SingleTeacherDistiller(
        student=_resnet(8), teacher=_write_teacher(tmp_path, _resnet(20)),
        distill=dict(dkd=dict(student='head', teacher='head',
                              loss=dict(type='DKDLoss', alpha=1.0, beta=8.0, tau=4.0))),
        probe_shape=(3, 8, 8))
    assert len(model.teacher.backbone.layer1) == 3 and len(model.student.backbone.layer1) == 1
    data = model.data_preprocessor(_packed_batch(), training=True)
    losses = model.loss(data['inputs'], data['data_samples'])
    assert set(losses) >= {'student.loss_cls', 'distill.dkd'}
    # the same value from the two networks' logits and the packed labels
    with torch.no_grad():
        t_logits = model.teacher(data['inputs'])
        s_logits = model.student(data['inputs'])
    expected = dkd_reference(s_logits.double().numpy(), t_logits.double().numpy(),
                             [0, 2, 1, 2], 1.0, 8.0, 4.0)
    assert losses['distill.dkd'].item() == pytest.approx(expected, rel=1e-4)
    # gradients reach the student only; a few SGD steps lower the total loss
    losses['distill.dkd'].backward()
    assert all(p.grad is None for p in model.teacher.parameters())
    assert model.student.head.fc.weight.grad.abs().sum() > 0
    model.zero_grad()
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.05))
    batch = _packed_batch()
    first = model.train_step(batch, optim)['loss'].item()
    for _ in range(3):
        last = model.train_step(batch, optim)['loss'].item()
    assert last < first


@pytest.mark.parametrize('loss_cfg', [
    dict(type='DKDLoss'), dict(type='DISTLoss'), dict(type='WSLDLoss', num_classes=3),
    dict(type='LogitsMSELoss'), dict(type='LogitsL1Loss'), dict(type='SoftCrossEntropyLoss'),
    dict(type='KDLoss', tau=4.0),
])
def test_logit_losses_work_in_the_distiller(tmp_path, loss_cfg):
    teacher = _write_teacher(tmp_path, dict(type='kd.ToyClassifier', width=8, out=8))
    model = SingleTeacherDistiller(
        student=toy_cfg(width=4, out=8), teacher=teacher,
        distill=dict(logits=dict(student='head', teacher='head', loss=loss_cfg)),
        probe_shape=(3, 16, 16))
    inputs, samples = toy_batch()
    losses = model.loss(inputs, samples)
    value = losses['distill.logits']
    assert value.dim() == 0 and torch.isfinite(value) and value.item() > 0
    total, _ = model.parse_losses(losses)
    total.backward()
    assert model.student.head.fc.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.teacher.parameters())
