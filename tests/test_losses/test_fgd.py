"""FGDLoss (Focal and Global Distillation) against a transcription of the authors' per-box loop.

``reference_masks`` / ``reference_fgd`` below transcribe the algorithm of the
authors' ``FeatureLoss`` (yzd-v/FGD, ``mmdet/distillation/losses/fgd.py``):
masks painted box by box with in-place slices, the ``sqrt``-weighted
``MSELoss(reduction='sum') / N`` terms and the GcBlock written with functional
ops on the loss module's parameters. They share no code with ``kd``.
"""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from kd.losses import FGDLoss
from kd.losses.detection.fgd import fgd_attention, fgd_masks

mmdet_structures = pytest.importorskip('mmdet.structures')
mmengine_structures = pytest.importorskip('mmengine.structures')

ROOT = Path(__file__).resolve().parents[2]


# ------------------------------------------------------------------ reference
def reference_masks(boxes, img_shapes, h, w, dtype=torch.float32):
    """The reference's loop: scale, floor/ceil, paint max(1/area) box by box."""
    n = len(boxes)
    mask_fg = torch.zeros(n, h, w, dtype=dtype)
    mask_bg = torch.ones(n, h, w, dtype=dtype)
    for i in range(n):
        gt = boxes[i]
        new = torch.ones_like(gt)
        new[:, 0] = gt[:, 0] / img_shapes[i][1] * w
        new[:, 2] = gt[:, 2] / img_shapes[i][1] * w
        new[:, 1] = gt[:, 1] / img_shapes[i][0] * h
        new[:, 3] = gt[:, 3] / img_shapes[i][0] * h
        wmin = torch.floor(new[:, 0]).int()
        wmax = torch.ceil(new[:, 2]).int()
        hmin = torch.floor(new[:, 1]).int()
        hmax = torch.ceil(new[:, 3]).int()
        area = 1.0 / (hmax.view(1, -1) + 1 - hmin.view(1, -1)) / \
            (wmax.view(1, -1) + 1 - wmin.view(1, -1))
        for j in range(len(gt)):
            region = mask_fg[i][hmin[j]:hmax[j] + 1, wmin[j]:wmax[j] + 1]
            mask_fg[i][hmin[j]:hmax[j] + 1, wmin[j]:wmax[j] + 1] = \
                torch.maximum(region, area[0][j])
        mask_bg[i] = torch.where(mask_fg[i] > 0, 0, 1)
        if torch.sum(mask_bg[i]):
            mask_bg[i] /= torch.sum(mask_bg[i])
    return mask_fg, mask_bg


def _reference_attention(x, temp):
    n, c, h, w = x.shape
    value = torch.abs(x)
    fea_map = value.mean(axis=1, keepdim=True)
    spatial = (h * w * F.softmax((fea_map / temp).view(n, -1), dim=1)).view(n, h, w)
    channel_map = value.mean(axis=2, keepdim=False).mean(axis=2, keepdim=False)
    return spatial, c * F.softmax(channel_map / temp, dim=1)


def _reference_gc(x, p, prefix):
    n, c, h, w = x.shape
    mask = F.conv2d(x, p[f'{prefix}.conv_mask.weight'], p[f'{prefix}.conv_mask.bias'])
    mask = F.softmax(mask.view(n, 1, h * w), dim=2).unsqueeze(-1)     # N, 1, HW, 1
    context = torch.matmul(x.view(n, c, h * w).unsqueeze(1), mask).view(n, c, 1, 1)
    y = F.conv2d(context, p[f'{prefix}.channel_add.0.weight'], p[f'{prefix}.channel_add.0.bias'])
    y = F.layer_norm(y, [c // 2, 1, 1], p[f'{prefix}.channel_add.1.weight'],
                     p[f'{prefix}.channel_add.1.bias'])
    y = F.relu(y)
    y = F.conv2d(y, p[f'{prefix}.channel_add.3.weight'], p[f'{prefix}.channel_add.3.bias'])
    return x + y


def reference_fgd(preds_s, preds_t, boxes, img_shapes, p, temp, alpha, beta, gamma, lam):
    if 'align.weight' in p:
        preds_s = F.conv2d(preds_s, p['align.weight'], p['align.bias'])
    n, c, h, w = preds_s.shape
    s_att_t, c_att_t = _reference_attention(preds_t, temp)
    s_att_s, c_att_s = _reference_attention(preds_s, temp)
    mask_fg, mask_bg = reference_masks(boxes, img_shapes, h, w, dtype=preds_s.dtype)
    mse = torch.nn.MSELoss(reduction='sum')
    m_fg, m_bg = mask_fg.unsqueeze(1), mask_bg.unsqueeze(1)
    ct = c_att_t.unsqueeze(-1).unsqueeze(-1)
    st = s_att_t.unsqueeze(1)
    fea_t = preds_t * torch.sqrt(st) * torch.sqrt(ct)
    fea_s = preds_s * torch.sqrt(st) * torch.sqrt(ct)
    fg_loss = mse(fea_s * torch.sqrt(m_fg), fea_t * torch.sqrt(m_fg)) / len(m_fg)
    bg_loss = mse(fea_s * torch.sqrt(m_bg), fea_t * torch.sqrt(m_bg)) / len(m_bg)
    mask_loss = torch.sum(torch.abs(c_att_s - c_att_t)) / len(c_att_s) + \
        torch.sum(torch.abs(s_att_s - s_att_t)) / len(s_att_s)
    rela_loss = mse(_reference_gc(preds_s, p, 'student_gc'),
                    _reference_gc(preds_t, p, 'teacher_gc')) / n
    return alpha * fg_loss + beta * bg_loss + gamma * mask_loss + lam * rela_loss


# ------------------------------------------------------------------ data
IMG_SHAPES = [(96, 128), (80, 80), (64, 100), (96, 96), (50, 70)]


def random_boxes(seed=0, counts=(7, 0, 3, 12, 1), shapes=IMG_SHAPES):
    """Random boxes per image; image 1 has none; includes edge and integer-aligned boxes."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for (ih, iw), k in zip(shapes, counts):
        x1 = torch.rand(k, generator=g) * iw * 0.9
        y1 = torch.rand(k, generator=g) * ih * 0.9
        x2 = x1 + 1 + torch.rand(k, generator=g) * (iw - x1 - 1)
        y2 = y1 + 1 + torch.rand(k, generator=g) * (ih - y1 - 1)
        b = torch.stack([x1, y1, x2, y2], dim=1)
        if k >= 3:
            b[0] = torch.tensor([0.0, 0.0, float(iw), float(ih) / 2])   # touches the edges
            b[1] = torch.tensor([8.0, 16.0, 24.0, 32.0])                 # on cell borders
            b[2] = torch.tensor([10.0, 10.0, 10.5, 10.5])                # smaller than a cell
        out.append(b)
    return out


def make_samples(boxes, shapes=IMG_SHAPES, batch_shape=(96, 128)):
    samples = []
    for b, shape in zip(boxes, shapes):
        s = mmdet_structures.DetDataSample(metainfo=dict(
            img_shape=shape, pad_shape=batch_shape, batch_input_shape=batch_shape))
        s.gt_instances = mmengine_structures.InstanceData(bboxes=b, labels=torch.zeros(
            len(b), dtype=torch.long))
        samples.append(s)
    return samples


def _randomise(module, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype) * 0.3)


# ------------------------------------------------------------------ masks
@pytest.mark.parametrize('impl', ['rows', 'dense'])
@pytest.mark.parametrize('hw', [(12, 16), (7, 9), (3, 3), (1, 2)])
def test_masks_match_the_per_box_loop(impl, hw):
    boxes = random_boxes(seed=hw[0])
    fg, bg = fgd_masks(boxes, IMG_SHAPES, hw, impl=impl)
    ref_fg, ref_bg = reference_masks(boxes, IMG_SHAPES, *hw)
    assert fg.shape == (len(boxes), *hw)
    torch.testing.assert_close(fg, ref_fg, rtol=0, atol=1e-7)
    torch.testing.assert_close(bg, ref_bg, rtol=0, atol=1e-7)
    assert torch.all(fg[1] == 0)                        # the image without boxes
    assert bg[1].sum().item() == pytest.approx(1.0)


@pytest.mark.parametrize('impl', ['rows', 'dense'])
def test_masks_many_boxes_and_full_cover(impl):
    shapes = [(800, 1216), (640, 960), (800, 800)]
    boxes = random_boxes(seed=3, counts=(300, 0, 41), shapes=shapes)
    boxes.append(torch.tensor([[0.0, 0.0, 96.0, 96.0]]))  # covers everything: bg stays 0
    shapes = shapes + [(96, 96)]
    fg, bg = fgd_masks(boxes, shapes, (25, 38), impl=impl)
    ref_fg, ref_bg = reference_masks(boxes, shapes, 25, 38)
    torch.testing.assert_close(fg, ref_fg, rtol=0, atol=1e-7)
    torch.testing.assert_close(bg, ref_bg, rtol=0, atol=1e-7)
    assert torch.all(bg[3] == 0) and torch.all(fg[3] > 0)


@pytest.mark.parametrize('impl', ['rows', 'dense'])
def test_degenerate_boxes_match_the_loop(impl):
    # zero width on the right edge (starts past the last column), a point, a full-width line,
    # a box ending exactly on the bottom edge, a box touching the top-left corner
    boxes = [torch.tensor([[64.0, 0.0, 64.0, 10.0], [5.0, 5.0, 5.0, 5.0], [0.0, 20.0, 64.0, 20.0],
                           [30.0, 40.0, 50.0, 48.0], [0.0, 0.0, 0.4, 0.4]]),
             torch.tensor([[12.0, 6.0, 12.0, 6.0]])]
    shapes = [(48, 64), (48, 64)]
    for hw in [(6, 8), (5, 7), (1, 1), (48, 64)]:
        fg, bg = fgd_masks(boxes, shapes, hw, impl=impl)
        ref_fg, ref_bg = reference_masks(boxes, shapes, *hw)
        torch.testing.assert_close(fg, ref_fg, rtol=0, atol=1e-7)
        torch.testing.assert_close(bg, ref_bg, rtol=0, atol=1e-7)


def test_random_layouts_match_the_loop():
    g = torch.Generator().manual_seed(11)
    for trial in range(40):
        n = int(torch.randint(1, 5, (1,), generator=g))
        shapes = [tuple(int(v) for v in torch.randint(16, 200, (2,), generator=g))
                  for _ in range(n)]
        counts = [int(torch.randint(0, 25, (1,), generator=g)) for _ in range(n)]
        boxes = []
        for (ih, iw), k in zip(shapes, counts):
            xs = torch.sort(torch.rand(k, 2, generator=g) * iw, dim=1).values
            ys = torch.sort(torch.rand(k, 2, generator=g) * ih, dim=1).values
            b = torch.stack([xs[:, 0], ys[:, 0], xs[:, 1], ys[:, 1]], dim=1)
            boxes.append(torch.where(torch.rand(k, 4, generator=g) < 0.2, b.round(), b))
        hw = tuple(int(v) for v in torch.randint(1, 41, (2,), generator=g))
        ref_fg, ref_bg = reference_masks(boxes, shapes, *hw)
        for impl in ('rows', 'dense'):
            fg, bg = fgd_masks(boxes, shapes, hw, impl=impl)
            torch.testing.assert_close(fg, ref_fg, rtol=0, atol=1e-7, msg=f'{trial} {impl}')
            torch.testing.assert_close(bg, ref_bg, rtol=0, atol=1e-7, msg=f'{trial} {impl}')


def test_hand_worked_mask():
    # image 8x8, map 4x4: box (2, 2, 5, 3) -> x 1..2.5, y 1..1.5 -> cols 1..3, rows 1..2;
    # 2 x 3 = 6 cells of weight 1/6; a second box (0, 0, 1, 1) -> x, y 0..0.5 -> rows,
    # cols 0..1: 4 cells of 1/4, overlapping the first at (1, 1), where max = 1/4.
    boxes = [torch.tensor([[2.0, 2.0, 5.0, 3.0], [0.0, 0.0, 1.0, 1.0]])]
    fg, bg = fgd_masks(boxes, [(8, 8)], (4, 4))
    expected = torch.zeros(4, 4)
    expected[1:3, 1:4] = 1 / 6
    expected[0:2, 0:2] = 1 / 4
    torch.testing.assert_close(fg[0], expected)
    # 6 + 4 - 1 = 9 foreground cells; the other 7 share the background weight 1/7
    torch.testing.assert_close(bg[0], (expected == 0).float() / 7)


# ------------------------------------------------------------------ loss
@pytest.mark.parametrize('s_ch,t_ch', [(6, 6), (4, 6)])
@pytest.mark.parametrize('impl', ['rows', 'dense'])
def test_loss_matches_reference(s_ch, t_ch, impl):
    torch.manual_seed(0)
    kw = dict(temp=0.5, alpha_fgd=1e-3, beta_fgd=5e-4, gamma_fgd=5e-4, lambda_fgd=5e-6)
    loss_fn = FGDLoss(s_ch, t_ch, mask_impl=impl, loss_weight=2.0, **kw)
    assert (loss_fn.align is None) == (s_ch == t_ch)
    _randomise(loss_fn, seed=1)                    # non-trivial GcBlocks on both sides
    boxes = random_boxes(seed=5)
    g = torch.Generator().manual_seed(2)
    student = torch.randn(5, s_ch, 12, 16, generator=g)
    teacher = torch.randn(5, t_ch, 12, 16, generator=g) * 2
    loss = loss_fn(student, teacher, data_samples=make_samples(boxes))
    params = {k: v.detach() for k, v in loss_fn.named_parameters()}
    expected = 2.0 * reference_fgd(student, teacher, boxes, IMG_SHAPES, params, 0.5,
                                   1e-3, 5e-4, 5e-4, 5e-6)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    assert sum(v.item() for v in loss_fn.last_terms.values()) == pytest.approx(loss.item(),
                                                                              rel=1e-5)
    # each weight scales its own term: switch three off and compare one at a time
    for name in ('alpha_fgd', 'beta_fgd', 'gamma_fgd', 'lambda_fgd'):
        only = {k: (1.0 if k == name else 0.0) for k in kw if k != 'temp'}
        single = FGDLoss(s_ch, t_ch, temp=0.5, **only)
        single.load_state_dict(loss_fn.state_dict())
        ref = reference_fgd(student, teacher, boxes, IMG_SHAPES, params, 0.5,
                            only['alpha_fgd'], only['beta_fgd'], only['gamma_fgd'],
                            only['lambda_fgd'])
        got = single(student, teacher, data_samples=make_samples(boxes))
        assert got.item() == pytest.approx(ref.item(), rel=1e-5), name


def test_loss_in_double_and_horizontal_boxes():
    from mmdet.structures.bbox import HorizontalBoxes
    loss_fn = FGDLoss(4, 4, lambda_fgd=1.0).double()
    _randomise(loss_fn, seed=3)
    boxes = [b.double() for b in random_boxes(seed=7)]
    samples = make_samples(boxes)
    for s in samples:                                  # mmdet 3 packs HorizontalBoxes
        s.gt_instances.bboxes = HorizontalBoxes(s.gt_instances.bboxes)
    g = torch.Generator().manual_seed(0)
    student = torch.randn(5, 4, 6, 8, generator=g, dtype=torch.float64)
    teacher = torch.randn(5, 4, 6, 8, generator=g, dtype=torch.float64)
    params = {k: v.detach() for k, v in loss_fn.named_parameters()}
    expected = reference_fgd(student, teacher, boxes, IMG_SHAPES, params, 0.5,
                             1e-3, 5e-4, 5e-4, 1.0)
    assert loss_fn(student, teacher, data_samples=samples).item() == pytest.approx(
        expected.item(), rel=1e-6)


def test_box_scale_shape_uses_the_padded_frame():
    boxes = random_boxes(seed=9)
    samples = make_samples(boxes, batch_shape=(96, 128))
    loss_fn = FGDLoss(4, 4, box_scale_shape='batch_input_shape', alpha_fgd=1.0, beta_fgd=0.0,
                      gamma_fgd=0.0, lambda_fgd=0.0)
    g = torch.Generator().manual_seed(0)
    student, teacher = torch.randn(5, 4, 12, 16, generator=g), torch.randn(5, 4, 12, 16,
                                                                          generator=g)
    fg, _ = reference_masks(boxes, [(96, 128)] * 5, 12, 16)
    s_att, c_att = _reference_attention(teacher, 0.5)
    expected = ((student - teacher) ** 2 * (s_att * fg)[:, None]
                * c_att[:, :, None, None]).sum() / 5
    got = loss_fn(student, teacher, data_samples=samples)
    assert got.item() == pytest.approx(expected.item(), rel=1e-5)


def test_identical_features_zero_focal_terms_and_global_term():
    torch.manual_seed(0)
    loss_fn = FGDLoss(8, 8, alpha_fgd=1.0, beta_fgd=1.0, gamma_fgd=1.0, lambda_fgd=1.0)
    boxes = random_boxes(seed=1)
    feat = torch.randn(5, 8, 12, 16)
    samples = make_samples(boxes)
    loss = loss_fn(feat.clone(), feat.clone(), data_samples=samples)
    terms = loss_fn.last_terms
    # feature and attention terms vanish for S = T (same attention, zero difference)
    assert terms['fg'].item() == 0 and terms['bg'].item() == 0
    assert terms['mask'].item() == pytest.approx(0.0, abs=1e-6)
    # the GcBlocks start as identities (last conv zero), so the global term is 0 too ...
    assert terms['glob'].item() == pytest.approx(0.0, abs=1e-8)
    assert loss.item() == pytest.approx(0.0, abs=1e-6)
    # ... but the two blocks are separate: once they differ, S = T no longer gives 0
    with torch.no_grad():
        loss_fn.teacher_gc.channel_add[-1].bias.fill_(0.5)
    loss_fn(feat.clone(), feat.clone(), data_samples=samples)
    assert loss_fn.last_terms['glob'].item() > 1.0
    assert loss_fn.last_terms['fg'].item() == 0


def test_gradients_reach_the_student_and_loss_layers_never_the_teacher():
    torch.manual_seed(0)
    loss_fn = FGDLoss(4, 6, lambda_fgd=1e-2)
    _randomise(loss_fn, seed=0)
    student = torch.randn(5, 4, 6, 8, requires_grad=True)
    teacher = torch.randn(5, 6, 6, 8, requires_grad=True)
    loss_fn(student, teacher, data_samples=make_samples(random_boxes(seed=2))).backward()
    assert student.grad is not None and student.grad.abs().sum() > 0
    assert teacher.grad is None
    for name, p in loss_fn.named_parameters():      # align and both GcBlocks train
        assert p.grad is not None, name
    # only the attention term reaches the student through A_S/A_C of its own feature
    s2 = torch.randn(5, 6, 6, 8, requires_grad=True)
    only_mask = FGDLoss(6, 6, alpha_fgd=0, beta_fgd=0, gamma_fgd=1.0, lambda_fgd=0)
    only_mask(s2, teacher, data_samples=make_samples(random_boxes(seed=2))).backward()
    assert s2.grad.abs().sum() > 0 and teacher.grad is None


def test_initialisation_matches_reference():
    loss_fn = FGDLoss(8, 8)
    for gc in (loss_fn.student_gc, loss_fn.teacher_gc):
        assert torch.all(gc.channel_add[-1].weight == 0) and torch.all(gc.channel_add[-1].bias == 0)
        assert torch.all(gc.conv_mask.bias == 0)
        # kaiming normal, fan_in = 8, gain sqrt(2): std = sqrt(2 / 8) = 0.5
        assert gc.conv_mask.weight.std().item() == pytest.approx(0.5, rel=0.8)
    assert (loss_fn.temp, loss_fn.alpha_fgd, loss_fn.beta_fgd, loss_fn.gamma_fgd,
            loss_fn.lambda_fgd) == (0.5, 1e-3, 5e-4, 5e-4, 5e-6)


def test_attention_helper():
    x = torch.randn(2, 3, 4, 5)
    spatial, channel = fgd_attention(x, 0.5)
    ref_s, ref_c = _reference_attention(x, 0.5)
    torch.testing.assert_close(spatial, ref_s)
    torch.testing.assert_close(channel, ref_c)
    torch.testing.assert_close(spatial.sum(dim=(1, 2)), torch.full((2,), 20.0))
    torch.testing.assert_close(channel.sum(dim=1), torch.full((2,), 3.0))


# ------------------------------------------------------------------ errors
def test_error_messages():
    loss_fn = FGDLoss(4, 6)
    s, t = torch.randn(2, 4, 6, 8), torch.randn(2, 6, 6, 8)
    samples = make_samples(random_boxes(seed=0)[:2], shapes=IMG_SHAPES[:2])
    with pytest.raises(ValueError, match='needs data_samples'):
        loss_fn(s, t)
    with pytest.raises(ValueError, match='3 data_samples for a batch of 2'):
        loss_fn(s, t, data_samples=make_samples(random_boxes(seed=0)[:3],
                                                shapes=IMG_SHAPES[:3]))
    with pytest.raises(ValueError, match='built for student_channels=4'):
        loss_fn(torch.randn(2, 5, 6, 8), t, data_samples=samples)
    with pytest.raises(ValueError, match='ResizeConnector'):
        loss_fn(s, torch.randn(2, 6, 3, 4), data_samples=samples)
    with pytest.raises(ValueError, match=r'\(N, C, H, W\)'):
        loss_fn(torch.randn(2, 4), torch.randn(2, 6), data_samples=samples)
    with pytest.raises(ValueError, match='levelwise'):
        loss_fn([s], [t], data_samples=samples)
    bare = [mmdet_structures.DetDataSample(metainfo=dict(img_shape=(96, 128)))] * 2
    with pytest.raises(ValueError, match='gt_instances.bboxes'):
        loss_fn(s, t, data_samples=bare)
    no_meta = make_samples(random_boxes(seed=0)[:2], shapes=IMG_SHAPES[:2])
    with pytest.raises(ValueError, match="'pad_shape'"):
        FGDLoss(4, 6, box_scale_shape='pad_shape')(
            s, t, data_samples=[mmdet_structures.DetDataSample(
                metainfo=dict(img_shape=(9, 9)), gt_instances=x.gt_instances)
                for x in no_meta])
    with pytest.raises(ValueError, match='student_channels=None'):
        FGDLoss()
    with pytest.raises(ValueError, match='box_scale_shape'):
        FGDLoss(4, 4, box_scale_shape='ori_shape')
    with pytest.raises(ValueError, match='temp'):
        FGDLoss(4, 4, temp=0)
    with pytest.raises(ValueError, match='num_boxes, 4'):
        fgd_masks([torch.zeros(3, 5)], [(8, 8)], (4, 4))


# ------------------------------------------------------------------ in a distiller
def test_inside_single_teacher_distiller_fills_channels_and_gets_data_samples():
    from mmengine.config import Config

    from kd.distillers import SingleTeacherDistiller

    student_cfg = Config.fromfile(
        str(ROOT / 'configs/baselines/retinanet_student_digits.py')).model
    distiller = SingleTeacherDistiller(
        student=dict(student_cfg.to_dict(), _scope_='mmdet'),
        teacher=dict(config='kd::baselines/retinanet_teacher_digits.py',
                     allow_random_init=True),
        probe_shape=(3, 96, 96),
        distill=dict(fpn=dict(student='neck', teacher='neck', loss=dict(type='FGDLoss'))))
    losses = distiller.entries['fpn'].losses
    assert len(losses) == 3
    assert all((m.student_channels, m.teacher_channels) == (16, 64) for m in losses)
    g = torch.Generator().manual_seed(0)
    inputs = torch.rand(2, 3, 96, 96, generator=g) * 255
    boxes = [torch.tensor([[10.0, 12.0, 40.0, 50.0]]), torch.tensor([[50.0, 50.0, 90.0, 80.0],
                                                                     [5.0, 5.0, 20.0, 30.0]])]
    samples = make_samples(boxes, shapes=[(96, 96), (96, 96)], batch_shape=(96, 96))
    for s, b in zip(samples, boxes):
        s.gt_instances.labels = torch.tensor([1] * len(b))
    data = distiller.data_preprocessor(dict(inputs=list(inputs.to(torch.uint8)),
                                            data_samples=samples), True)
    out = distiller(data['inputs'], data['data_samples'], mode='loss')
    assert 'distill.fpn' in out and torch.isfinite(out['distill.fpn'])
    out['distill.fpn'].backward()
    assert losses[0].align.weight.grad is not None


# ------------------------------------------------------------------ COCO recipes
COCO_RECIPES = {
    'configs/fgd/fgd_retinanet_x101_retinanet_r50_fpn_2x_coco.py': (5, ['neck', 'bbox_head']),
    'configs/fgd/fgd_faster-rcnn_r101_faster-rcnn_r50_fpn_2x_coco.py': (
        4, ['neck', 'rpn_head', 'roi_head']),
}


@pytest.mark.parametrize('recipe', sorted(COCO_RECIPES))
def test_coco_recipes_build_without_downloading(recipe):
    """Teacher and student of the COCO recipes build (random teacher, no checkpoint fetch)."""
    from mmengine.registry import DefaultScope

    from kd.apis import load_config
    from kd.registry import MODELS
    from kd.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    cfg = load_config(str(ROOT / recipe), ['model.teacher.checkpoint=None',
                                           'model.teacher.allow_random_init=True',
                                           'model.probe_shape=[3,64,64]'])
    assert cfg.model.teacher.config.startswith('mmdet::')
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        model = MODELS.build(cfg.model)
    levels, init_from = COCO_RECIPES[recipe]
    losses = model.entries['fpn'].losses
    assert len(losses) == levels
    assert all(isinstance(m, FGDLoss) and m.align is None and m.teacher_channels == 256
               for m in losses)
    assert model._init_from_teacher == init_from and model.init_report['copied']
    assert not model.init_report['skipped']
    if 'retinanet' in recipe:  # one tiny loss-mode step through both detectors
        samples = make_samples([torch.tensor([[4.0, 6.0, 40.0, 50.0]])], shapes=[(64, 96)],
                               batch_shape=(64, 96))
        samples[0].gt_instances.labels = torch.tensor([3])
        data = model.data_preprocessor(dict(inputs=[torch.randint(0, 255, (3, 64, 96),
                                                                  dtype=torch.uint8)],
                                            data_samples=samples), True)
        out = model(data['inputs'], data['data_samples'], mode='loss')
        assert torch.isfinite(out['distill.fpn'])


@pytest.mark.parametrize('recipe,metafile', [
    ('configs/fgd/fgd_retinanet_x101_retinanet_r50_fpn_2x_coco.py', 'retinanet/metafile.yml'),
    ('configs/fgd/fgd_faster-rcnn_r101_faster-rcnn_r50_fpn_2x_coco.py',
     'faster_rcnn/metafile.yml')])
def test_coco_recipe_teacher_urls_are_the_model_zoo_ones(recipe, metafile):
    import mmdet
    from mmengine.config import Config
    zoo = Path(mmdet.__file__).parent / '.mim' / 'configs' / metafile
    if not zoo.is_file():
        pytest.skip(f'{zoo} not installed')
    cfg = Config.fromfile(str(ROOT / recipe))
    assert f'Weights: {cfg.teacher_ckpt}' in zoo.read_text()


@pytest.mark.parametrize('shape', [(16, 64, 12, 12), (16, 64, 3, 3), (2, 8, 5, 7)])
def test_gc_block_matrix_products_equal_the_conv_modules_with_gradients(shape):
    """GlobalContextBlock.forward (matrix products) vs forward_modules (Conv2d, LayerNorm
    modules) and vs a transcription with explicit sums: output and every gradient, to
    1e-12 in float64; in float32 the output to 1e-6 and the gradients to 1e-5 (float32
    rounding of the weight gradients' sums over N*H*W positions)."""
    from kd.losses.detection.fgd import GlobalContextBlock
    n, c, h, w = shape
    for dtype, tol, grad_tol in ((torch.float64, 1e-12, 1e-12), (torch.float32, 1e-6, 1e-5)):
        torch.manual_seed(0)
        block = GlobalContextBlock(c).to(dtype)
        with torch.no_grad():
            for p in block.parameters():           # the last conv starts at zero: randomise
                p.copy_(torch.randn_like(p) * 0.5)
        x = torch.randn(shape, dtype=dtype, requires_grad=True)
        g = torch.randn(shape, dtype=dtype)
        grads = {}
        for name, fn in (('fast', block.forward), ('modules', block.forward_modules)):
            out = fn(x)
            params = [x] + list(block.parameters())
            grads[name] = (out.detach(), torch.autograd.grad(out, params, g))
        # explicit: attention over positions, context, two linear maps with a layer norm
        mw, mb = block.conv_mask.weight.reshape(c), block.conv_mask.bias
        logits = (x * mw[None, :, None, None]).sum(1).reshape(n, h * w) + mb
        attn = torch.softmax(logits, dim=1).reshape(n, 1, h, w)
        context = (x * attn).sum(dim=(2, 3))                               # (N, C)
        conv1, norm, _, conv2 = block.channel_add
        y = (context[:, None, :] * conv1.weight.reshape(c // 2, c)[None]).sum(-1) + conv1.bias
        mean, var = y.mean(1, keepdim=True), y.var(1, unbiased=False, keepdim=True)
        y = ((y - mean) / (var + norm.eps).sqrt() * norm.weight.reshape(-1)
             + norm.bias.reshape(-1)).clamp(min=0)
        y = (y[:, None, :] * conv2.weight.reshape(c, c // 2)[None]).sum(-1) + conv2.bias
        explicit = x + y[:, :, None, None]
        assert (grads['fast'][0] - explicit).abs().max().item() <= tol * explicit.abs().max()
        for name in ('modules', ):
            out, ref_grads = grads[name]
            assert (grads['fast'][0] - out).abs().max().item() <= tol * out.abs().max()
            # conv_mask's bias has a zero gradient (softmax ignores a shift): both must be
            # zero up to rounding, against the largest gradient
            top = max(b.abs().max().item() for b in ref_grads)
            names = ['x'] + [n for n, _ in block.named_parameters()]
            for pname, a, b in zip(names, grads['fast'][1], ref_grads):
                scale = top if pname == 'conv_mask.bias' else b.abs().max().item()
                assert (a - b).abs().max().item() <= grad_tol * scale, (dtype, tuple(b.shape))
