"""CrossKDLoss against hand-worked values and an independent numpy transcription.

The reference follows the CrossKD paper's prediction-mimicking loss with the
normalisation of the official implementation (jbwang1997/CrossKD): the
classification term summed over anchors and classes, weighted by the head's
label weights and divided by its number of positives; the box term weighted by
the teacher's highest class probability and divided by the sum of those
weights (GFL) or by the positives (RetinaNet).
"""
import math

import numpy as np
import pytest
import torch
import torch.nn as nn

pytest.importorskip('mmdet')

from mmdet.structures import DetDataSample  # noqa: E402
from mmengine.structures import InstanceData  # noqa: E402

from kd.losses.detection import CrossKDLoss  # noqa: E402
from kd.losses.detection.crosskd import align_scale, distribution_kl, quality_focal_kd  # noqa: E402
from kd.recorders import HeadConvFeaturesRecorder, RecorderManager  # noqa: E402

STRIDES = [8, 16]


def _head(kind, stacked_convs=2, width=8):
    from mmdet.registry import MODELS as MMDET_MODELS
    from mmdet.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    if kind == 'gfl':
        cfg = dict(type='GFLHead', num_classes=3, in_channels=width, feat_channels=width,
                   stacked_convs=stacked_convs, reg_max=3,
                   norm_cfg=dict(type='GN', num_groups=2, requires_grad=True),
                   anchor_generator=dict(type='AnchorGenerator', ratios=[1.0],
                                         octave_base_scale=4, scales_per_octave=1,
                                         strides=STRIDES),
                   train_cfg=dict(assigner=dict(type='ATSSAssigner', topk=9),
                                  allowed_border=-1, pos_weight=-1, debug=False))
    else:
        cfg = dict(type='RetinaHead', num_classes=3, in_channels=width, feat_channels=width,
                   stacked_convs=stacked_convs,
                   anchor_generator=dict(type='AnchorGenerator', octave_base_scale=2,
                                         scales_per_octave=1, ratios=[0.5, 1.0],
                                         strides=STRIDES),
                   bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[.0] * 4,
                                   target_stds=[1.0] * 4),
                   train_cfg=dict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5,
                                                neg_iou_thr=0.4, min_pos_iou=0,
                                                ignore_iof_thr=-1),
                                  sampler=dict(type='PseudoSampler'), allowed_border=-1,
                                  pos_weight=-1, debug=False))
    torch.manual_seed(0)
    head = MMDET_MODELS.build(cfg)
    head.init_weights()
    return head.eval().requires_grad_(False)


class _Model(nn.Module):
    """What a recorder sees: a model whose ``bbox_head`` runs on FPN levels."""

    def __init__(self, head):
        super().__init__()
        self.bbox_head = head

    def forward(self, feats):
        return self.bbox_head(feats)


def _samples(n=2, size=64):
    out = []
    for i in range(n):
        s = DetDataSample(metainfo=dict(img_shape=(size, size), pad_shape=(size, size),
                                        batch_input_shape=(size, size)))
        s.gt_instances = InstanceData(bboxes=torch.tensor([[8. + 4 * i, 10., 40., 44.]]),
                                      labels=torch.tensor([i % 3]))
        out.append(s)
    return out


def _feats(n=2, width=8, size=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(n, width, size // s, size // s, generator=g) for s in STRIDES]


def _loss(kind, depth=1, **kwargs):
    head = _head(kind)
    loss = CrossKDLoss(depth=depth, **kwargs)
    loss.bind_teacher_module(head)
    return loss, head


# ------------------------------------------------------------------ hand-worked
def test_quality_focal_kd_hand_worked():
    # s = 0 (p = 1/2), t = ln 3 (p = 3/4): |1/2 - 3/4| * BCE = 1/4 * ln 2
    s, t = torch.tensor([0.0]), torch.tensor([math.log(3.0)])
    assert quality_focal_kd(s, t, beta=1.0).item() == pytest.approx(0.25 * math.log(2), rel=1e-6)
    assert quality_focal_kd(s, t, beta=2.0).item() == pytest.approx(0.0625 * math.log(2),
                                                                    rel=1e-6)
    assert quality_focal_kd(t, t, beta=1.0).item() == pytest.approx(0.0, abs=1e-7)


def test_distribution_kl_hand_worked():
    # teacher (3/4, 1/4), student (1/2, 1/2): 3/4 ln(3/2) + 1/4 ln(1/2)
    s, t = torch.tensor([[0.0, 0.0]]), torch.tensor([[math.log(3.0), 0.0]])
    expected = 0.75 * math.log(1.5) + 0.25 * math.log(0.5)
    assert distribution_kl(s, t, tau=1.0).item() == pytest.approx(expected, rel=1e-6)
    # tau 2: softmax(t/2) = (sqrt3, 1)/(sqrt3 + 1), times tau^2
    q = math.sqrt(3) / (math.sqrt(3) + 1)
    expected2 = 4 * (q * math.log(q / 0.5) + (1 - q) * math.log((1 - q) / 0.5))
    assert distribution_kl(s, t, tau=2.0).item() == pytest.approx(expected2, rel=1e-5)


def test_align_scale_gives_the_teacher_statistics():
    g = torch.Generator().manual_seed(0)
    s = torch.randn(2, 3, 4, 4, generator=g) * 5 + 2
    t = torch.randn(2, 3, 4, 4, generator=g) * 0.5 - 1
    out = align_scale(s, t)
    assert torch.allclose(out.mean((0, 2, 3)), t.mean((0, 2, 3)), atol=1e-5)
    assert torch.allclose(out.std((0, 2, 3)), t.std((0, 2, 3)), atol=1e-4)
    assert torch.allclose(align_scale(t, t), t, atol=1e-4)


# ---------------------------------------------------------- numpy transcription
def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _giou(a, b):
    ix1, iy1 = max(a[0], b[0]), max(a[1], b[1])
    ix2, iy2 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(ix2 - ix1, 0) * max(iy2 - iy1, 0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    iou = inter / max(union, 1e-6)
    ex = (max(a[2], b[2]) - min(a[0], b[0])) * (max(a[3], b[3]) - min(a[1], b[1]))
    return iou - (ex - union) / max(ex, 1e-6)


def _reference(kind, s_cls, s_reg, t_cls, t_reg, anchors, label_weights, positives,
               num_classes, reg_max=3, beta=1.0, w_cls=1.0, w_kl=3.0, w_giou=2.0):
    """Python loops over anchors in float64; no torch, no kd code."""
    cls_sum = kl_sum = giou_sum = weight_sum = 0.0
    for lvl in range(len(s_cls)):
        sc, tc = s_cls[lvl].astype(np.float64), t_cls[lvl].astype(np.float64)
        sr, tr = s_reg[lvl].astype(np.float64), t_reg[lvl].astype(np.float64)
        n, _, h, w = sc.shape
        num_anchors = sc.shape[1] // num_classes
        per = sr.shape[1] // num_anchors
        for i in range(n):
            for y in range(h):
                for x in range(w):
                    for a in range(num_anchors):
                        r = (y * w + x) * num_anchors + a
                        lw = label_weights[lvl][i, r]
                        ps = _sigmoid(sc[i, a * num_classes:(a + 1) * num_classes, y, x])
                        pt = _sigmoid(tc[i, a * num_classes:(a + 1) * num_classes, y, x])
                        bce = -(pt * np.log(ps) + (1 - pt) * np.log(1 - ps))
                        cls_sum += lw * float((np.abs(ps - pt) ** beta * bce).sum())
                        weight = float(pt.max()) if lw > 0 else 0.0
                        anc = anchors[lvl][r]
                        ds = sr[i, a * per:(a + 1) * per, y, x]
                        dt = tr[i, a * per:(a + 1) * per, y, x]
                        if kind == 'gfl':
                            stride = STRIDES[lvl]
                            cx, cy = (anc[0] + anc[2]) / 2 / stride, (anc[1] + anc[3]) / 2 / stride
                            boxes, kls = [], []
                            for d in (ds, dt):
                                edges = []
                                for e in range(4):
                                    z = d[e * (reg_max + 1):(e + 1) * (reg_max + 1)]
                                    p = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
                                    edges.append((p * np.arange(reg_max + 1)).sum())
                                boxes.append([cx - edges[0], cy - edges[1], cx + edges[2],
                                              cy + edges[3]])
                            for e in range(4):
                                zs = ds[e * (reg_max + 1):(e + 1) * (reg_max + 1)]
                                zt = dt[e * (reg_max + 1):(e + 1) * (reg_max + 1)]
                                qs = np.exp(zs - zs.max()) / np.exp(zs - zs.max()).sum()
                                qt = np.exp(zt - zt.max()) / np.exp(zt - zt.max()).sum()
                                kls.append(float((qt * np.log(qt / qs)).sum()))
                            kl_sum += weight * sum(kls) / 4
                        else:
                            aw, ah = anc[2] - anc[0], anc[3] - anc[1]
                            ax, ay = anc[0] + aw / 2, anc[1] + ah / 2
                            boxes = []
                            for d in (ds, dt):
                                gx, gy = ax + aw * d[0], ay + ah * d[1]
                                gw, gh = aw * math.exp(d[2]), ah * math.exp(d[3])
                                boxes.append([gx - gw / 2, gy - gh / 2, gx + gw / 2, gy + gh / 2])
                        giou_sum += weight * (1 - _giou(*boxes))
                        weight_sum += weight
    loss = w_cls * cls_sum / positives
    if kind == 'gfl':
        return loss + (w_kl * kl_sum + w_giou * giou_sum) / weight_sum
    return loss + w_giou * giou_sum / positives


@pytest.mark.parametrize('kind', ['gfl', 'retina'])
def test_prediction_loss_matches_the_reference(kind):
    loss_fn, head = _loss(kind)
    g = torch.Generator().manual_seed(1)
    a = head.num_base_priors
    c = head.cls_out_channels
    reg = 4 * (head.reg_max + 1) if kind == 'gfl' else 4
    sizes = [(4, 4), (2, 2)]
    s_cls = [torch.randn(2, a * c, *hw, generator=g) for hw in sizes]
    t_cls = [torch.randn(2, a * c, *hw, generator=g) for hw in sizes]
    s_reg = [torch.randn(2, a * reg, *hw, generator=g) * 0.3 for hw in sizes]
    t_reg = [torch.randn(2, a * reg, *hw, generator=g) * 0.3 for hw in sizes]
    anchors = head.prior_generator.grid_priors(sizes, device='cpu')
    label_weights = [torch.ones(2, x.shape[0]) for x in anchors]
    label_weights[0][0, :3] = 0.0   # ignored anchors: no cls term, no box weight
    positives = torch.tensor(5.0)
    got = loss_fn.prediction_loss(s_cls, s_reg, t_cls, t_reg, anchors, label_weights,
                                  positives, STRIDES)
    weights = dict(w_kl=3.0, w_giou=2.0) if kind == 'gfl' else dict(w_kl=0.0, w_giou=1.0)
    expected = _reference(kind, [x.numpy() for x in s_cls], [x.numpy() for x in s_reg],
                          [x.numpy() for x in t_cls], [x.numpy() for x in t_reg],
                          [x.numpy() for x in anchors], [x.numpy() for x in label_weights],
                          5.0, c, **weights)
    assert got.item() == pytest.approx(expected, rel=1e-5)


# ------------------------------------------------------- through the teacher head
@pytest.mark.parametrize('kind', ['gfl', 'retina'])
@pytest.mark.parametrize('depth', [0, 1, 2])
def test_head_tail_on_recorded_features_is_the_head_output(kind, depth):
    head = _head(kind)
    model = _Model(head)
    manager = RecorderManager({'x': HeadConvFeaturesRecorder('bbox_head', depth=depth)})
    manager.prepare(model)
    feats = _feats()
    with manager, torch.no_grad():
        cls_scores, bbox_preds = model(feats)
    record = manager.get('x')
    assert len(record) == 2 and set(record[0]) == {'cls_convs', 'reg_convs'}
    loss_fn = CrossKDLoss(depth=depth)
    loss_fn.bind_teacher_module(head)
    with torch.no_grad():
        for lvl, level in enumerate(record):
            assert torch.allclose(loss_fn.head_tail(level['cls_convs'], 'cls_convs', lvl),
                                  cls_scores[lvl], atol=1e-5)
            assert torch.allclose(loss_fn.head_tail(level['reg_convs'], 'reg_convs', lvl),
                                  bbox_preds[lvl], atol=1e-5)
    if depth:   # the pre-activation survives the in-place ReLU
        assert (record[0]['cls_convs'] < 0).any()
    manager.remove()


@pytest.mark.parametrize('kind', ['gfl', 'retina'])
def test_same_features_give_zero_and_gradients_reach_only_the_student(kind):
    loss_fn, head = _loss(kind)
    model = _Model(head)
    manager = RecorderManager({'x': HeadConvFeaturesRecorder('bbox_head', depth=1)})
    manager.prepare(model)
    with manager, torch.no_grad():
        model(_feats())
    teacher = manager.get('x')
    same = loss_fn(teacher, teacher, data_samples=_samples())
    assert same.item() == pytest.approx(0.0, abs=1e-4)
    with manager, torch.no_grad():
        model(_feats(seed=3))
    student = [{k: v.clone().requires_grad_(True) for k, v in lvl.items()}
               for lvl in manager.get('x')]
    loss = loss_fn(student, teacher, data_samples=_samples())
    assert loss.item() > 0
    loss.backward()
    assert all(v.grad is not None and v.grad.abs().sum() > 0 for lvl in student
               for v in lvl.values())
    assert all(p.grad is None for p in head.parameters())
    assert list(loss_fn.state_dict()) == []   # the teacher head is not the loss's
    manager.remove()


@pytest.mark.parametrize('kind', ['gfl', 'retina'])
def test_teacher_outputs_from_the_record_equal_the_recomputed_head_tail(kind):
    """outputs=[cls, reg] on the teacher's recorder: the loss takes the teacher's own
    predictions from its forward (the head's outputs, exactly) instead of running its
    head layers again; loss and student gradients are the same as with recomputation."""
    from kd.losses.detection.crosskd import HEAD_OUTPUTS
    loss_fn, head = _loss(kind)
    model = _Model(head)
    outputs = list(HEAD_OUTPUTS[kind])
    manager = RecorderManager({
        'plain': HeadConvFeaturesRecorder('bbox_head', depth=1),
        'outs': HeadConvFeaturesRecorder('bbox_head', depth=1, outputs=outputs)})
    manager.prepare(model)
    with manager, torch.no_grad():
        cls_scores, bbox_preds = model(_feats())
    plain, with_outputs = manager.get('plain'), manager.get('outs')
    assert set(with_outputs[0]) == {'cls_convs', 'reg_convs', *outputs}
    for lvl, level in enumerate(with_outputs):
        assert torch.equal(level[outputs[0]], cls_scores[lvl])      # the head's own output
        own = loss_fn.teacher_output(level, level['reg_convs'], 'reg_convs', lvl)
        assert torch.equal(own, bbox_preds[lvl])                    # gfl: after its Scale
        assert torch.equal(level['cls_convs'], plain[lvl]['cls_convs'])
    with manager, torch.no_grad():
        model(_feats(seed=3))
    base = manager.get('plain')
    results = []
    for teacher in (plain, with_outputs):
        student = [{k: v.clone().requires_grad_(True) for k, v in lvl.items()} for lvl in base]
        loss = loss_fn(student, teacher, data_samples=_samples())
        loss.backward()
        results.append((loss.detach(), [v.grad for lvl in student for v in lvl.values()]))
    (loss_a, grads_a), (loss_b, grads_b) = results
    assert torch.allclose(loss_a, loss_b, rtol=1e-6, atol=0)
    for a, b in zip(grads_a, grads_b):
        assert torch.allclose(a, b, rtol=1e-6, atol=1e-6 * b.abs().max().item())
    with pytest.raises(KeyError, match='no sub-module "nope"'):
        RecorderManager({'x': HeadConvFeaturesRecorder('bbox_head', depth=1,
                                                       outputs=['nope'])}).prepare(_Model(head))
    manager.remove()


def test_adapter_for_a_narrower_student_and_errors():
    loss_fn, head = _loss('gfl', student_channels=4)
    assert loss_fn.adapters['cls_convs'].weight.shape == (8, 4, 1, 1)
    s = [{b: torch.randn(2, 4, 8, 8), } for b in ('cls_convs', )]
    with pytest.raises(ValueError, match='per level, a dict'):
        loss_fn(s, s, data_samples=_samples())
    narrow = CrossKDLoss(depth=1)
    narrow.bind_teacher_module(head)
    lvl = [{'cls_convs': torch.randn(2, 4, 8, 8), 'reg_convs': torch.randn(2, 4, 8, 8)}]
    wide = [{'cls_convs': torch.randn(2, 8, 8, 8), 'reg_convs': torch.randn(2, 8, 8, 8)}]
    with pytest.raises(ValueError, match='student_channels=4'):
        narrow(lvl, wide, data_samples=_samples())
    with pytest.raises(ValueError, match='data_samples'):
        narrow(wide, wide)
    with pytest.raises(ValueError, match='depth=3'):
        CrossKDLoss(depth=3).bind_teacher_module(head)
    with pytest.raises(RuntimeError, match='teacher_module'):
        CrossKDLoss(depth=1).head
    with pytest.raises(TypeError, match='GFL heads'):
        CrossKDLoss(depth=0).bind_teacher_module(nn.Conv2d(1, 1, 1))
