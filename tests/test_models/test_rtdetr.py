"""RT-DETR (kd.models.rtdetr): losses, matching and denoising against hand-worked values;
the DigitsDet config trains and predicts under MMEngine's Runner."""
from __future__ import annotations

import math
import os.path as osp

import pytest
import torch

pytest.importorskip('mmdet')
from mmdet.structures import DetDataSample  # noqa: E402
from mmengine.structures import InstanceData  # noqa: E402

import kd.models.rtdetr  # noqa: E402,F401
from kd.apis import build_runner, load_config  # noqa: E402
from kd.models.rtdetr import (  # noqa: E402
    RTDETRCdnQueryGenerator,
    RTDETRHead,
    RTDETRVarifocalLoss,
    dn_assignment,
    generate_anchors,
)
from tests.test_configs.test_quickstart import _tiny_det_overrides  # noqa: E402

DIGITS = 'configs/rtdetr/rtdetr_r18vd_digits.py'


def _bce(x, t):
    return -(t * math.log(1 / (1 + math.exp(-x))) + (1 - t) * math.log(1 - 1 / (1 + math.exp(-x))))


def test_varifocal_loss_hand_values():
    # one query, three classes; class 1 matched with IoU 0.5, class 2 matched with IoU 0
    logits = torch.tensor([[[0.0, 2.0, -1.0]]])
    onehot = torch.tensor([[[0.0, 1.0, 1.0]]])
    iou = torch.tensor([[[0.0, 0.5, 0.0]]])
    loss = RTDETRVarifocalLoss(alpha=0.75, gamma=2.0, loss_weight=1.0)(logits, onehot, iou,
                                                                        avg_factor=2.0)
    # negative: weight alpha * p^gamma = 0.75 * 0.5^2, target 0
    neg = 0.75 * 0.25 * math.log(2.0)
    # matched: weight = its IoU (0.5), target 0.5; matched with IoU 0 adds nothing
    pos = 0.5 * _bce(2.0, 0.5)
    assert loss.item() == pytest.approx((neg + pos) / 2.0, rel=1e-6)
    # gradients reach only the logits through BCE (the weight is detached)
    logits.requires_grad_(True)
    RTDETRVarifocalLoss()(logits, onehot, iou, 1.0).backward()
    assert logits.grad[0, 0, 2].item() == 0.0


def _head(num_classes=3):
    return RTDETRHead(num_classes=num_classes, embed_dims=8, num_pred_layer=1, train_cfg=dict(
        assigner=dict(type='HungarianAssigner', match_costs=[
            dict(type='FocalLossCost', weight=2.0),
            dict(type='BBoxL1Cost', weight=5.0, box_format='xywh'),
            dict(type='IoUCost', iou_mode='giou', weight=2.0)])))


def test_hungarian_matching_by_hand():
    head = _head()
    # normalised cxcywh; query 2 sits on gt 0, query 0 on gt 1, query 1 far from both
    gts = [(torch.tensor([0, 1]), torch.tensor([[0.3, 0.3, 0.2, 0.2], [0.7, 0.6, 0.2, 0.4]]))]
    boxes = torch.tensor([[[0.7, 0.6, 0.2, 0.4], [0.05, 0.95, 0.05, 0.05],
                           [0.3, 0.3, 0.2, 0.2]]])
    logits = torch.zeros(1, 3, 3)
    (query, gt), = head.match(logits, boxes, gts)
    assert dict(zip(query.tolist(), gt.tolist())) == {2: 0, 0: 1}
    # a perfectly placed query with the right class: IoU target 1, L1 and GIoU losses 0
    cls, l1, giou = head.layer_losses(logits, boxes, [(query, gt)], gts, num_boxes=2.0)
    assert l1.item() == pytest.approx(0.0, abs=1e-6) and giou.item() == pytest.approx(0.0, abs=1e-6)
    # VFL by hand: 2 matched (IoU 1, logit 0) + 7 negatives (logit 0), divided by 2 boxes
    expected = (2 * 1.0 * _bce(0.0, 1.0) + 7 * 0.75 * 0.25 * math.log(2.0)) / 2.0
    assert cls.item() == pytest.approx(expected, rel=1e-6)


def test_denoising_groups_by_hand():
    # image 0 holds 2 objects, image 1 one; 6 denoising queries -> 3 groups of 2 x 2
    assert [(q.tolist(), g.tolist()) for q, g in dn_assignment([2, 1], 3, 2)] == [
        ([0, 1, 4, 5, 8, 9], [0, 1, 0, 1, 0, 1]), ([0, 4, 8], [0, 0, 0])]
    gen = RTDETRCdnQueryGenerator(num_classes=5, embed_dims=4, num_matching_queries=3,
                                  label_noise_scale=1e-9, box_noise_scale=1e-9,
                                  group_cfg=dict(dynamic=True, num_groups=None,
                                                 num_dn_queries=6))
    samples = []
    for boxes, labels in (([[0, 0, 32, 16], [16, 16, 64, 64]], [1, 4]), ([[8, 8, 24, 40]], [2])):
        s = DetDataSample(metainfo=dict(img_shape=(50, 60), batch_input_shape=(64, 64)))
        s.gt_instances = InstanceData(bboxes=torch.tensor(boxes, dtype=torch.float32),
                                      labels=torch.tensor(labels))
        samples.append(s)
    label_q, box_q, mask, meta = gen(samples)
    assert meta['num_denoising_queries'] == 12 and meta['num_denoising_groups'] == 3
    assert label_q.shape == (2, 12, 4) and box_q.shape == (2, 12, 4)
    emb = gen.label_embedding.weight
    # layout [pos_0, neg_0, pos_1, neg_1, pos_2, neg_2], 2 slots each; image 1 pads slot 2
    for start in range(0, 12, 2):
        assert torch.equal(label_q[0, start], emb[1]) and torch.equal(label_q[0, start + 1], emb[4])
        assert torch.equal(label_q[1, start], emb[2]) and not label_q[1, start + 1].any()
    # with (almost) no box noise the box query is the gt, normalised by the batch input (64 x 64)
    cxcywh = torch.tensor([16, 8, 32, 16]) / 64.0
    assert torch.allclose(box_q[0, 0].sigmoid(), cxcywh, atol=1e-6)
    assert torch.allclose(box_q[0, 6].sigmoid(), cxcywh, atol=1e-6)
    # the mask: a group sees only itself and the matching queries; matching sees no dn query
    expected = torch.zeros(15, 15, dtype=torch.bool)
    for g in range(3):
        rows = slice(4 * g, 4 * g + 4)
        expected[rows, :12] = True
        expected[rows, 4 * g:4 * g + 4] = False
    expected[12:, :12] = True
    assert torch.equal(mask, expected)
    empty = DetDataSample(metainfo=dict(img_shape=(8, 8), batch_input_shape=(8, 8)))
    empty.gt_instances = InstanceData(bboxes=torch.zeros(0, 4), labels=torch.zeros(0).long())
    assert gen([empty]) == (None, None, None, None)


def test_anchors_by_hand():
    anchors, valid = generate_anchors([(2, 2), (100, 1)])
    first = anchors[0, :4].sigmoid()
    assert torch.allclose(first, torch.tensor([[0.25, 0.25, 0.05, 0.05], [0.75, 0.25, 0.05, 0.05],
                                               [0.25, 0.75, 0.05, 0.05],
                                               [0.75, 0.75, 0.05, 0.05]]), atol=1e-6)
    # level 1: side 0.1; the first and last rows have centres 0.005 / 0.995 (< eps 0.01)
    assert not valid[0, 4, 0] and not valid[0, -1, 0] and valid[0, 5, 0]
    assert torch.isinf(anchors[0, 4]).all()


def test_digits_config_trains_and_predicts(tiny_digits_det, tmp_path):
    cfg = load_config(DIGITS, _tiny_det_overrides(tiny_digits_det, tmp_path))
    runner = build_runner(cfg)
    before = {k: v.clone() for k, v in runner.model.state_dict().items()}
    runner.train()
    after = runner.model.state_dict()
    assert [k for k in before if not torch.equal(before[k], after[k])]
    assert osp.isfile(osp.join(tmp_path, 'iter_2.pth'))
    metrics = runner.val_loop.run()
    assert 'coco/bbox_mAP' in metrics
    # predict: at most max_per_img boxes per image, inside the image
    runner.model.eval()
    batch = next(iter(runner.val_dataloader))
    with torch.no_grad():
        out = runner.model.test_step(batch)
    pred = out[0].pred_instances
    assert len(pred.bboxes) == cfg.model.test_cfg.max_per_img
    assert (pred.scores >= 0).all() and (pred.scores <= 1).all()
    h, w = out[0].ori_shape
    assert (pred.bboxes[:, 0::2] <= w + 1e-4).all() and (pred.bboxes[:, 1::2] <= h + 1e-4).all()


def test_loss_names_cover_every_layer_encoder_and_denoising(tiny_digits_det, tmp_path):
    cfg = load_config(DIGITS, _tiny_det_overrides(tiny_digits_det, tmp_path))
    runner = build_runner(cfg)
    model = runner.model
    model.train()
    batch = next(iter(runner.train_dataloader))
    data = model.data_preprocessor(batch, True)
    losses = model(**data, mode='loss')
    names = {f'{p}{n}' for p in ('', 'd0.', 'd1.', 'enc_', 'dn_', 'd0.dn_', 'd1.dn_')
             for n in ('loss_cls', 'loss_bbox', 'loss_iou')}
    assert set(losses) == names
    assert all(torch.isfinite(v) for v in losses.values())
