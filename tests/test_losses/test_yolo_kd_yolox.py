"""YOLOObjectnessKDLoss on YOLOX head outputs (layout='yolox') against a loop transcription."""
import math

import pytest
import torch

from kd.losses import YOLOObjectnessKDLoss


def _sig(x):
    return 1 / (1 + math.exp(-x))


def _bce(x, p):
    return -(p * math.log(_sig(x)) + (1 - p) * math.log(1 - _sig(x)))


def _yolox_reference(student, teacher, reduction='mean', wh='l1'):
    """Python loops over YOLOX's (cls, bbox, obj) lists: L1/L2 on x, y, w, h."""
    total = 0.0
    for (sc, sb, so), (tc, tb, to) in zip(zip(*student), zip(*teacher)):
        n, c, h, w = sc.shape
        reg = cls = obj = 0.0
        for b in range(n):
            for i in range(h):
                for j in range(w):
                    gate = _sig(to[b, 0, i, j].item())
                    d = [sb[b, k, i, j].item() - tb[b, k, i, j].item() for k in range(4)]
                    reg += gate * sum(abs(x) if wh == 'l1' else x * x for x in d)
                    cls += gate * sum(_bce(sc[b, k, i, j].item(), _sig(tc[b, k, i, j].item()))
                                      for k in range(c))
                    obj += _bce(so[b, 0, i, j].item(), gate)
        if reduction == 'mean':
            reg, cls, obj = reg / (n * h * w), cls / (n * h * w * c), obj / (n * h * w)
        total += reg + cls + obj
    return total


def _outputs(gen, classes=3, sizes=((4, 4), (2, 2))):
    def level(ch, size):
        return torch.randn(2, ch, *size, generator=gen, dtype=torch.float64)
    return ([level(classes, s) for s in sizes], [level(4, s) for s in sizes],
            [level(1, s) for s in sizes])


@pytest.mark.parametrize('reduction,wh', [('mean', 'l1'), ('sum', 'l2')])
def test_yolox_layout_matches_the_loops(reduction, wh):
    g = torch.Generator().manual_seed(0)
    student, teacher = _outputs(g), _outputs(g)
    loss = YOLOObjectnessKDLoss(layout='yolox', num_anchors=1, num_classes=3, wh_loss=wh,
                                reduction=reduction, loss_weight=2.0)
    assert loss(student, teacher).item() == pytest.approx(
        2.0 * _yolox_reference(student, teacher, reduction, wh), rel=1e-6)


def test_yolox_hand_worked_and_gradients():
    # one location, one class; teacher objectness logit 0 -> gate 0.5;
    # student box off by (1, -2, 0, 0.5) -> L1 3.5; equal class and objectness logits 0
    zero = torch.zeros(1, 1, 1, 1)
    student = ([zero.clone().requires_grad_()],
               [torch.tensor([1., -2., 0., .5]).view(1, 4, 1, 1).requires_grad_()],
               [zero.clone().requires_grad_()])
    teacher = ([zero], [torch.zeros(1, 4, 1, 1)], [zero])
    loss = YOLOObjectnessKDLoss(layout='yolox', num_anchors=1, num_classes=1)
    value = loss(student, teacher)
    # reg 0.5 * 3.5 + cls 0.5 * ln 2 + obj ln 2
    assert value.item() == pytest.approx(0.5 * 3.5 + 1.5 * math.log(2), rel=1e-6)
    value.backward()
    assert student[1][0].grad.abs().sum() > 0
    assert student[0][0].grad.abs().sum() == 0      # equal logits: zero gradient


def test_yolox_layout_errors():
    with pytest.raises(ValueError, match='num_anchors must be 1'):
        YOLOObjectnessKDLoss(layout='yolox', num_anchors=3)
    with pytest.raises(ValueError, match='layout'):
        YOLOObjectnessKDLoss(layout='yolov5')
    loss = YOLOObjectnessKDLoss(layout='yolox', num_anchors=1, num_classes=3)
    g = torch.Generator().manual_seed(0)
    out = _outputs(g)
    with pytest.raises(ValueError, match='levelwise=False'):
        loss(out[0][0], out[0][0])
    with pytest.raises(ValueError, match='5 \\+ num_classes'):
        YOLOObjectnessKDLoss(layout='yolox', num_anchors=1, num_classes=4)(out, out)


def test_yolox_head_outputs_fit():
    """mmdet's YOLOXHead output goes into the loss as recorded."""
    pytest.importorskip('mmdet')
    from mmdet.models.dense_heads import YOLOXHead
    head = YOLOXHead(num_classes=10, in_channels=8, feat_channels=8, stacked_convs=1)
    feats = [torch.randn(2, 8, s, s) for s in (12, 6, 3)]
    out = head(feats)
    loss = YOLOObjectnessKDLoss(layout='yolox', num_anchors=1, num_classes=10)
    value = loss(out, tuple([t.detach() for t in level] for level in out))
    assert torch.isfinite(value) and value > 0
