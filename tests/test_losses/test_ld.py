"""LDLoss against MMDetection (ATSS, LDHead), a loop transcription and hand-worked numbers."""
import math

import pytest
import torch

pytest.importorskip('mmdet')

from mmdet.structures import DetDataSample  # noqa: E402
from mmengine.structures import InstanceData  # noqa: E402

from kd.losses import LDLoss  # noqa: E402
from kd.losses.detection.ld import ld_regions  # noqa: E402

STRIDES = [8, 16]
SIZES = [(4, 4), (2, 2)]
ANCHORS = dict(type='AnchorGenerator', ratios=[1.0], octave_base_scale=3, scales_per_octave=1,
               strides=STRIDES)


def _sample(boxes, pad=(32, 32)):
    ds = DetDataSample(metainfo=dict(pad_shape=pad, img_shape=pad, batch_input_shape=(32, 32)))
    boxes = torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4)
    ds.gt_instances = InstanceData(bboxes=boxes, labels=torch.zeros(len(boxes), dtype=torch.long))
    return ds


def _random_boxes(g, n, extent=28.0):
    xy = torch.rand(n, 2, generator=g) * (extent - 8)
    wh = torch.rand(n, 2, generator=g) * 14 + 4
    return torch.cat([xy, (xy + wh).clamp(max=32)], 1)


def _anchors():
    """The anchors of ANCHORS, written out: centre (j*s, i*s) (offset 0), side 3*s."""
    out = []
    for s, (h, w) in zip(STRIDES, SIZES):
        for i in range(h):
            for j in range(w):
                cx, cy, half = j * s, i * s, 1.5 * s
                out.append((cx - half, cy - half, cx + half, cy + half, s, i, j))
    return out


# ------------------------------------------------------------- transcription
def _iou(a, b):
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / max(union, 1e-6)


def _diou(a, b):
    ca = ((a[0] + a[2]) / 2, (a[1] + a[3]) / 2)
    cb = ((b[0] + b[2]) / 2, (b[1] + b[3]) / 2)
    rho2 = (ca[0] - cb[0]) ** 2 + (ca[1] - cb[1]) ** 2
    c2 = (max(a[2], b[2]) - min(a[0], b[0])) ** 2 + (max(a[3], b[3]) - min(a[1], b[1])) ** 2
    return _iou(a, b) - rho2 / c2


def _regions_loops(anchors, gts, topk, alpha):
    """ATSS positives and VLR IoU weights, one anchor and one gt at a time."""
    pos = [False] * len(anchors)
    vlr = [0.0] * len(anchors)
    for g in gts:
        gc = ((g[0] + g[2]) / 2, (g[1] + g[3]) / 2)
        cands = []
        for s in STRIDES:
            level = [k for k, a in enumerate(anchors) if a[4] == s]
            level.sort(key=lambda k: math.dist(
                ((anchors[k][0] + anchors[k][2]) / 2, (anchors[k][1] + anchors[k][3]) / 2), gc))
            cands += level[:topk]
        ious = [_iou(anchors[k], g) for k in cands]
        mean = sum(ious) / len(ious)
        std = math.sqrt(sum((v - mean) ** 2 for v in ious) / (len(ious) - 1))
        thr = mean + std
        for k, v in zip(cands, ious):
            cx = (anchors[k][0] + anchors[k][2]) / 2
            cy = (anchors[k][1] + anchors[k][3]) / 2
            if v >= thr and min(cx - g[0], cy - g[1], g[2] - cx, g[3] - cy) > 0.01:
                pos[k] = True
        for k, a in enumerate(anchors):
            d = _diou(a, g)
            if alpha * thr <= d < thr:
                vlr[k] = max(vlr[k], _iou(a, g))
    return pos, vlr


def _kl_bar(s_logits, t_logits, tau, bins):
    """Mean over the 4 edges of tau^2 KL(p_t || p_s) / bins, one anchor."""
    total = 0.0
    for e in range(4):
        s = [x / tau for x in s_logits[e * bins:(e + 1) * bins]]
        t = [x / tau for x in t_logits[e * bins:(e + 1) * bins]]
        zs = math.log(sum(math.exp(x) for x in s))
        zt = math.log(sum(math.exp(x) for x in t))
        kl = sum(math.exp(b - zt) * ((b - zt) - (a - zs)) for a, b in zip(s, t))
        total += tau ** 2 * kl / bins
    return total / 4


def _reference(s_cls, s_reg, t_reg, samples, reg_max, tau, lw, vw, normalize, topk=9,
               alpha=0.25):
    bins = reg_max + 1
    anchors = _anchors()
    main = vlr_sum = wsum = vsum = 0.0
    for n, sample in enumerate(samples):
        ph, pw = sample.metainfo['pad_shape']
        valid = [k for k, a in enumerate(anchors)
                 if a[5] < math.ceil(ph / a[4]) and a[6] < math.ceil(pw / a[4])]
        gts = sample.gt_instances.bboxes.tolist()
        pos, vlr = _regions_loops([anchors[k] for k in valid], gts, topk, alpha)
        for idx, k in enumerate(valid):
            a = anchors[k]
            lvl = STRIDES.index(a[4])
            s_vec = s_reg[lvl][n, :, a[5], a[6]].tolist()
            t_vec = t_reg[lvl][n, :, a[5], a[6]].tolist()
            kl = _kl_bar(s_vec, t_vec, tau, bins)
            if pos[idx]:
                w = max(1 / (1 + math.exp(-v)) for v in s_cls[lvl][n, :, a[5], a[6]].tolist())
                main += w * kl
                wsum += w
            vlr_sum += vlr[idx] * kl
            vsum += vlr[idx]
    if normalize == 'sum':
        return lw * main + vw * vlr_sum / 4
    return lw * main / max(wsum, 1e-6) + vw * vlr_sum / max(vsum, 1e-6)


def _inputs(seed, reg_max=3, num_classes=3):
    g = torch.Generator().manual_seed(seed)
    c = 4 * (reg_max + 1)
    s_cls = [torch.randn(2, num_classes, *hw, generator=g) for hw in SIZES]
    s_reg = [torch.randn(2, c, *hw, generator=g) for hw in SIZES]
    t_reg = [torch.randn(2, c, *hw, generator=g) * 3 for hw in SIZES]
    samples = [_sample(_random_boxes(g, 3)), _sample(_random_boxes(g, 2, 20.0), pad=(24, 16))]
    return s_cls, s_reg, t_reg, samples


# -------------------------------------------------------------------- tests
@pytest.mark.parametrize('normalize', ['sum', 'mean'])
@pytest.mark.parametrize('seed', [0, 1])
def test_matches_loop_transcription(normalize, seed):
    s_cls, s_reg, t_reg, samples = _inputs(seed)
    loss = LDLoss(anchor_generator=ANCHORS, reg_max=3, tau=10.0, loss_weight=0.25,
                  vlr_weight=0.5, normalize=normalize)
    t_cls = [torch.randn_like(x) for x in s_cls]
    value = loss((s_cls, s_reg), (t_cls, t_reg), data_samples=samples)
    ref = _reference(s_cls, s_reg, t_reg, samples, 3, 10.0, 0.25, 0.5, normalize)
    assert ref > 0
    assert value.item() == pytest.approx(ref, rel=1e-4)


def test_regions_match_mmdet_atss_assigner():
    from mmdet.models.task_modules.assigners import ATSSAssigner
    from mmdet.registry import TASK_UTILS
    gen = TASK_UTILS.build(dict(type='AnchorGenerator', ratios=[1.0], octave_base_scale=4,
                                scales_per_octave=1, strides=[8, 16, 32]))
    mlvl = gen.grid_priors([(12, 12), (6, 6), (3, 3)], device='cpu')
    anchors, counts = torch.cat(mlvl), [a.shape[0] for a in mlvl]
    g = torch.Generator().manual_seed(0)
    total = 0
    for _ in range(10):
        n = int(torch.randint(1, 6, (1,), generator=g))
        xy = torch.rand(n, 2, generator=g) * 70
        gts = torch.cat([xy, xy + torch.rand(n, 2, generator=g) * 36 + 8], 1)
        pos, vlr = ld_regions(anchors, counts, gts, topk=9, alpha_vlr=0.25)
        res = ATSSAssigner(topk=9).assign(InstanceData(priors=anchors), counts,
                                          InstanceData(bboxes=gts, labels=torch.zeros(n).long()))
        assert torch.equal(pos, res.gt_inds > 0)
        assert (vlr >= 0).all() and (vlr <= 1).all()
        total += int(pos.sum())
    assert total > 0


def test_main_region_matches_mmdet_ld_head():
    """With the VLR off, the loss is MMDetection's LDHead ``loss_ld`` (summed over levels)."""
    from mmdet.registry import MODELS as MMDET_MODELS
    from mmdet.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    head = MMDET_MODELS.build(dict(
        type='LDHead', num_classes=3, in_channels=32, feat_channels=32, stacked_convs=1,
        anchor_generator=ANCHORS, reg_max=3,
        loss_cls=dict(type='QualityFocalLoss', use_sigmoid=True, beta=2.0, loss_weight=1.0),
        loss_dfl=dict(type='DistributionFocalLoss', loss_weight=0.25),
        loss_ld=dict(type='KnowledgeDistillationKLDivLoss', loss_weight=0.25, T=10),
        loss_bbox=dict(type='GIoULoss', loss_weight=2.0),
        train_cfg=dict(assigner=dict(type='ATSSAssigner', topk=9), allowed_border=-1,
                       pos_weight=-1, debug=False)))
    s_cls, s_reg, t_reg, samples = _inputs(3)
    out = head.loss_by_feat(s_cls, s_reg, [s.gt_instances for s in samples],
                            [s.metainfo for s in samples], t_reg)
    expected = sum(x.item() for x in out['loss_ld'])
    value = LDLoss(anchor_generator=ANCHORS, reg_max=3, vlr_weight=0.0)(
        (s_cls, s_reg), (s_cls, t_reg), data_samples=samples)
    assert expected > 0
    assert value.item() == pytest.approx(expected, rel=1e-5)


def test_hand_worked_regions():
    # gt [0,0,10,10]; A0 = the gt (IoU 1), A1 shifted by 5 (IoU 1/3), A2 far away (IoU 0).
    # topk 3 on one level: mean 4/9, unbiased std sqrt(7/27) -> t = 0.953619.
    # A0 positive. A1: DIoU = 1/3 - 25/325 = 0.25641 in [0.25 t, t) -> VLR, weight 1/3.
    anchors = torch.tensor([[0., 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]])
    pos, vlr = ld_regions(anchors, [3], torch.tensor([[0., 0, 10, 10]]), topk=3, alpha_vlr=0.25)
    assert pos.tolist() == [True, False, False]
    assert vlr.tolist() == pytest.approx([0.0, 1 / 3, 0.0])
    # alpha 0.3 puts the lower bound (0.28609) above A1's DIoU: empty VLR
    _, vlr = ld_regions(anchors, [3], torch.tensor([[0., 0, 10, 10]]), topk=3, alpha_vlr=0.3)
    assert vlr.tolist() == [0.0, 0.0, 0.0]
    # no gt: empty regions
    pos, vlr = ld_regions(anchors, [3], torch.zeros(0, 4))
    assert not pos.any() and not vlr.any()


def test_hand_worked_edge_kl():
    # reg_max 1 (2 bins), tau 10: student uniform, teacher p = (0.75, 0.25) on every edge.
    # KL = 0.75 ln 1.5 + 0.25 ln 0.5 = 0.130812; / 2 bins * tau^2 = 6.54061
    loss = LDLoss(anchor_generator=ANCHORS, reg_max=1, tau=10.0)
    t = torch.tensor([10 * math.log(3), 0.0] * 4).reshape(1, 1, 8)
    kl = loss.edge_kl(torch.zeros(1, 1, 8), t)
    expected = (0.75 * math.log(1.5) + 0.25 * math.log(0.5)) / 2 * 100
    assert kl.item() == pytest.approx(expected, rel=1e-6)
    assert expected == pytest.approx(6.54061, rel=1e-5)


def test_zero_at_teacher_and_gradients_reach_student_only():
    s_cls, s_reg, t_reg, samples = _inputs(4)
    loss = LDLoss(anchor_generator=ANCHORS, reg_max=3)
    t_reg = [x.requires_grad_(True) for x in t_reg]
    same = loss((s_cls, [x.detach().clone() for x in t_reg]), (s_cls, t_reg),
                data_samples=samples)
    assert same.item() == pytest.approx(0.0, abs=1e-6)
    s_reg = [x.requires_grad_(True) for x in s_reg]
    s_cls = [x.requires_grad_(True) for x in s_cls]
    value = loss((s_cls, s_reg), (s_cls, t_reg), data_samples=samples)
    value.backward()
    assert any(x.grad is not None and x.grad.abs().sum() > 0 for x in s_reg)
    assert all(x.grad is None for x in t_reg)
    assert all(x.grad is None for x in s_cls)  # the score weights are detached


def test_options():
    s_cls, s_reg, t_reg, samples = _inputs(5)
    t_cls = [torch.randn_like(x) for x in s_cls]
    kw = dict(anchor_generator=ANCHORS, reg_max=3)
    base = LDLoss(**kw, vlr_weight=0.0, pos_weight='none')
    # pos_weight='none' works on bare bbox_preds lists (index=1 records)
    assert base(s_reg, t_reg, data_samples=samples).item() == pytest.approx(
        base((s_cls, s_reg), (t_cls, t_reg), data_samples=samples).item())
    student = LDLoss(**kw, vlr_weight=0.0)((s_cls, s_reg), (t_cls, t_reg), data_samples=samples)
    teacher = LDLoss(**kw, vlr_weight=0.0, pos_weight='teacher_score')(
        (s_cls, s_reg), (t_cls, t_reg), data_samples=samples)
    assert student.item() != pytest.approx(teacher.item())
    only_vlr = dict(kw, loss_weight=0.0, vlr_weight=1.0)
    with_pos = LDLoss(**only_vlr)((s_cls, s_reg), (t_cls, t_reg), data_samples=samples)
    without = LDLoss(**only_vlr, vlr_exclude_pos=True)((s_cls, s_reg), (t_cls, t_reg),
                                                        data_samples=samples)
    assert 0 < without.item() <= with_pos.item()


def test_errors():
    s_cls, s_reg, t_reg, samples = _inputs(6)
    loss = LDLoss(anchor_generator=ANCHORS, reg_max=3)
    with pytest.raises(ValueError, match='data_samples'):
        loss((s_cls, s_reg), (s_cls, t_reg))
    with pytest.raises(ValueError, match='levelwise=False'):
        loss(s_reg[0], t_reg[0], data_samples=samples)
    with pytest.raises(ValueError, match='cls_scores'):
        loss(s_reg, t_reg, data_samples=samples)
    with pytest.raises(ValueError, match='reg_max'):
        LDLoss(anchor_generator=ANCHORS, reg_max=4)((s_cls, s_reg), (s_cls, t_reg),
                                                    data_samples=samples)
    with pytest.raises(ValueError, match='differ'):
        loss((s_cls, s_reg), (s_cls, [t_reg[0], t_reg[1][:, :, :1]]), data_samples=samples)
    with pytest.raises(ValueError, match='levels'):
        loss((s_cls, s_reg), (s_cls[:1], t_reg[:1]), data_samples=samples)
    with pytest.raises(ValueError, match='data samples'):
        loss((s_cls, s_reg), (s_cls, t_reg), data_samples=samples[:1])
    for bad in (dict(tau=0), dict(pos_weight='x'), dict(normalize='x'), dict(alpha_vlr=2)):
        with pytest.raises(ValueError):
            LDLoss(anchor_generator=ANCHORS, **bad)


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_batched_regions_equal_per_image_regions(seed):
    from kd.losses.detection.ld import ld_regions_batch
    gen = torch.Generator().manual_seed(seed)
    counts = [64, 16, 4, 1]   # levels with fewer anchors than topk included
    centres = torch.rand(sum(counts), 2, generator=gen) * 64
    sizes = torch.rand(sum(counts), 1, generator=gen) * 24 + 4
    anchors = torch.cat([centres - sizes / 2, centres + sizes / 2], 1)
    boxes = []
    for g in (3, 0, 1, 5):     # an image without boxes included
        xy = torch.rand(g, 2, generator=gen) * 48
        wh = torch.rand(g, 2, generator=gen) * 20 + 2
        boxes.append(torch.cat([xy, xy + wh], 1))
    valid = torch.rand(len(boxes), sum(counts), generator=gen) > 0.2
    valid[0] = True
    gts = torch.nn.utils.rnn.pad_sequence(boxes, batch_first=True)
    mask = torch.arange(gts.shape[1])[None] < torch.tensor([len(b) for b in boxes])[:, None]
    pos, vlr = ld_regions_batch(anchors, counts, gts, mask, valid, topk=9, alpha_vlr=0.25)
    starts = torch.tensor([0] + counts).cumsum(0)
    for i, b in enumerate(boxes):
        v = valid[i]
        level_counts = [int(v[starts[j]:starts[j + 1]].sum()) for j in range(len(counts))]
        p_ref, v_ref = ld_regions(anchors[v], level_counts, b, topk=9, alpha_vlr=0.25)
        assert torch.equal(pos[i][v], p_ref) and not pos[i][~v].any()
        torch.testing.assert_close(vlr[i][v], v_ref, rtol=1e-6, atol=1e-7)
        assert not vlr[i][~v].any()
    assert pos.any() and (vlr > 0).any()   # the case is not vacuous
