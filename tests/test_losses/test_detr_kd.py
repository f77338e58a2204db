"""DETRDistillLoss against a loop-and-brute-force transcription of its definition."""
import itertools
import math

import pytest
import torch

from kd.losses import DETRDistillLoss
from kd.registry import MODELS

pytest.importorskip('scipy')


# ----------------------------------------------------------------- reference
def _sig(x):
    return 1.0 / (1.0 + math.exp(-x))


def _softmax(row):
    m = max(row)
    e = [math.exp(v - m) for v in row]
    return [v / sum(e) for v in e]


def _giou(a, b):
    """GIoU of two (cx, cy, w, h) boxes, by hand."""
    ax1, ay1, ax2, ay2 = a[0] - a[2] / 2, a[1] - a[3] / 2, a[0] + a[2] / 2, a[1] + a[3] / 2
    bx1, by1, bx2, by2 = b[0] - b[2] / 2, b[1] - b[3] / 2, b[0] + b[2] / 2, b[1] + b[3] / 2
    iw = max(0.0, min(ax2, bx2) - max(ax1, bx1))
    ih = max(0.0, min(ay2, by2) - max(ay1, by1))
    inter = iw * ih
    union = a[2] * a[3] + b[2] * b[3] - inter
    enclose = (max(ax2, bx2) - min(ax1, bx1)) * (max(ay2, by2) - min(ay1, by1))
    return inter / union - (enclose - union) / enclose


def _reference(s_cls, s_box, t_cls, t_box, thr, sigmoid=True, unmatched='background',
               gamma=2.0, alpha=0.25, bg_weight=0.1):
    """One student layer against the teacher's last layer; lists of python floats.

    s_cls[n][q][c], s_box[n][q][4], t_cls[n][t][c], t_box[n][t][4].
    """
    cls_sum, weight_sum, box_sum, pairs_total = 0.0, 0.0, 0.0, 0
    for n in range(len(s_cls)):
        if sigmoid:
            t_prob = [[_sig(v) for v in row] for row in t_cls[n]]
            s_prob = [[_sig(v) for v in row] for row in s_cls[n]]
        else:
            t_full = [_softmax(row) for row in t_cls[n]]
            s_full = [_softmax(row) for row in s_cls[n]]
            t_prob = [row[:-1] for row in t_full]
            s_prob = [row[:-1] for row in s_full]
        targets = [j for j, row in enumerate(t_prob) if max(row) > thr]
        labels = {j: t_prob[j].index(max(t_prob[j])) for j in targets}

        def cost(i, j):
            p = s_prob[i][labels[j]]
            if sigmoid:
                c = alpha * (1 - p) ** 2 * -math.log(p) - (1 - alpha) * p ** 2 * -math.log(1 - p)
            else:
                c = -p
            l1 = sum(abs(x - y) for x, y in zip(s_box[n][i], t_box[n][j]))
            return 2.0 * c + 5.0 * l1 - 2.0 * _giou(s_box[n][i], t_box[n][j])

        best, best_pairs = math.inf, []
        for rows in itertools.permutations(range(len(s_cls[n])), len(targets)):
            total = sum(cost(i, j) for i, j in zip(rows, targets))
            if total < best:
                best, best_pairs = total, list(zip(rows, targets))
        match = dict(best_pairs)
        pairs_total += len(best_pairs)

        for i in range(len(s_cls[n])):
            if sigmoid:
                for c in range(len(s_cls[n][i])):
                    tgt = t_prob[match[i]][c] if i in match else 0.0
                    if i not in match and unmatched == 'ignore':
                        continue
                    p = s_prob[i][c]
                    bce = -(tgt * math.log(p) + (1 - tgt) * math.log(1 - p))
                    cls_sum += abs(tgt - p) ** gamma * bce
            else:
                if i in match:
                    tgt, w = t_full[match[i]], 1.0
                else:
                    tgt = [0.0] * (len(s_full[i]) - 1) + [1.0]
                    w = 0.0 if unmatched == 'ignore' else bg_weight
                ce = -sum(t * math.log(p) for t, p in zip(tgt, s_full[i]))
                cls_sum += w * ce
                weight_sum += w
        for i, j in best_pairs:
            w = max(t_prob[j])
            l1 = sum(abs(x - y) for x, y in zip(s_box[n][i], t_box[n][j]))
            box_sum += w * (5.0 * l1 + 2.0 * (1 - _giou(s_box[n][i], t_box[n][j])))
    avg = max(pairs_total, 1)
    cls = cls_sum / avg if sigmoid else cls_sum / max(weight_sum, 1.0)
    return cls + box_sum / avg


def _boxes(*shape, gen):
    """Random valid (cx, cy, w, h) boxes inside the unit square."""
    wh = torch.rand(*shape, 2, generator=gen, dtype=torch.float64) * 0.4 + 0.05
    c = torch.rand(*shape, 2, generator=gen, dtype=torch.float64) * 0.5 + 0.25
    return torch.cat([c, wh], -1)


def _pair(layers, n, q, c, gen, scale=3.0):
    return (torch.randn(layers, n, q, c, generator=gen, dtype=torch.float64) * scale,
            _boxes(layers, n, q, gen=gen))


# --------------------------------------------------------------------- tests
@pytest.mark.parametrize('unmatched', ['background', 'ignore'])
def test_matches_bruteforce_reference_sigmoid(unmatched):
    gen = torch.Generator().manual_seed(0)
    s_cls, s_box = _pair(1, 2, 4, 3, gen)
    t_cls, t_box = _pair(1, 2, 4, 3, gen)
    loss = DETRDistillLoss(score_thr=0.6, unmatched=unmatched)((s_cls, s_box), (t_cls, t_box))
    ref = _reference(s_cls[0].tolist(), s_box[0].tolist(), t_cls[0].tolist(),
                     t_box[0].tolist(), 0.6, unmatched=unmatched)
    n_targets = int((t_cls[0].sigmoid().max(-1).values > 0.6).sum())
    assert 2 <= n_targets < 8  # some but not all teacher queries are targets
    assert loss.item() == pytest.approx(ref, rel=1e-9, abs=1e-12)


def test_matches_bruteforce_reference_softmax():
    gen = torch.Generator().manual_seed(1)
    s_cls, s_box = _pair(1, 2, 4, 4, gen)   # 3 classes + background
    t_cls, t_box = _pair(1, 2, 4, 4, gen)
    loss = DETRDistillLoss(score_thr=0.4, use_sigmoid=False)((s_cls, s_box), (t_cls, t_box))
    ref = _reference(s_cls[0].tolist(), s_box[0].tolist(), t_cls[0].tolist(),
                     t_box[0].tolist(), 0.4, sigmoid=False)
    assert loss.item() == pytest.approx(ref, rel=1e-9, abs=1e-12)


def test_hungarian_equals_bruteforce_on_rectangular_costs():
    gen = torch.Generator().manual_seed(2)
    cost = torch.rand(3, 5, 3, generator=gen, dtype=torch.float64)  # padded to 3 targets
    targets = [torch.tensor([3, 0, 1]), torch.tensor([], dtype=torch.long), torch.tensor([2])]
    b, rows, cols = DETRDistillLoss.hungarian(cost, targets)
    for img, tgt in enumerate(targets):
        got = {int(c): int(r) for bb, r, c in zip(b, rows, cols) if int(bb) == img}
        if not len(tgt):
            assert not got
            continue
        best = min(itertools.permutations(range(5), len(tgt)),
                   key=lambda perm: sum(cost[img, r, j] for j, r in enumerate(perm)))
        assert got == {int(t): r for r, t in zip(best, tgt)}


def test_teacher_last_layer_and_student_last_layer_by_default():
    gen = torch.Generator().manual_seed(3)
    s_cls, s_box = _pair(3, 2, 4, 3, gen)
    t_cls, t_box = _pair(2, 2, 4, 3, gen)
    loss = DETRDistillLoss(score_thr=0.5)((s_cls, s_box), (t_cls, t_box))
    ref = _reference(s_cls[-1].tolist(), s_box[-1].tolist(), t_cls[-1].tolist(),
                     t_box[-1].tolist(), 0.5)
    assert loss.item() == pytest.approx(ref, rel=1e-9)


def test_per_layer_is_the_mean_over_student_layers():
    gen = torch.Generator().manual_seed(4)
    s_cls, s_box = _pair(3, 2, 4, 3, gen)
    t_cls, t_box = _pair(2, 2, 4, 3, gen)
    loss = DETRDistillLoss(score_thr=0.5, per_layer=True)((s_cls, s_box), (t_cls, t_box))
    refs = [_reference(s_cls[i].tolist(), s_box[i].tolist(), t_cls[-1].tolist(),
                       t_box[-1].tolist(), 0.5) for i in range(3)]
    assert loss.item() == pytest.approx(sum(refs) / 3, rel=1e-9)


def test_zero_box_loss_when_student_equals_teacher():
    gen = torch.Generator().manual_seed(5)
    t_cls, t_box = _pair(2, 3, 6, 5, gen)
    box_only = DETRDistillLoss(score_thr=0.3, cls_weight=0.0)  # last layers
    assert (t_cls.sigmoid()[-1].max(-1).values > 0.3).sum() > 3
    assert box_only((t_cls.clone(), t_box.clone()), (t_cls, t_box)).item() == pytest.approx(
        0.0, abs=1e-12)
    # matched class targets equal the student's probabilities, so with the QFL
    # factor and no push on unmatched queries the whole loss vanishes too
    full = DETRDistillLoss(score_thr=0.3, unmatched='ignore')
    assert full((t_cls.clone(), t_box.clone()), (t_cls, t_box)).item() == pytest.approx(
        0.0, abs=1e-12)
    # and a different student has a positive box loss
    s_cls, s_box = _pair(2, 3, 6, 5, gen)
    assert box_only((s_cls, s_box), (t_cls, t_box)).item() > 0.1


@pytest.mark.parametrize('num_queries', [None, 4])
def test_denoising_queries_are_excluded(num_queries):
    gen = torch.Generator().manual_seed(6)
    s_cls, s_box = _pair(2, 2, 4, 3, gen)
    t_cls, t_box = _pair(2, 2, 4, 3, gen)
    loss_fn = DETRDistillLoss(score_thr=0.5, per_layer=True, num_queries=num_queries)
    plain = loss_fn((s_cls, s_box), (t_cls, t_box))
    results = []
    for seed in (7, 8):  # DINO puts 2 x groups x max_gt denoising queries in front
        g = torch.Generator().manual_seed(seed)
        dn_cls, dn_box = _pair(2, 2, 6, 3, g, scale=10.0)
        results.append(loss_fn((torch.cat([dn_cls, s_cls], 2), torch.cat([dn_box, s_box], 2)),
                               (t_cls, t_box)))
    assert results[0].item() == pytest.approx(plain.item(), rel=1e-12)
    assert results[1].item() == pytest.approx(plain.item(), rel=1e-12)


def test_gradients_reach_the_student_only():
    gen = torch.Generator().manual_seed(9)
    s_cls, s_box = _pair(2, 2, 5, 3, gen)
    t_cls, t_box = _pair(2, 2, 5, 3, gen)
    dn = torch.randn(2, 2, 4, 3, dtype=torch.float64, requires_grad=True)
    s_cls.requires_grad_(True)
    s_box.requires_grad_(True)
    t_cls.requires_grad_(True)
    t_box.requires_grad_(True)
    loss = DETRDistillLoss(score_thr=0.3, num_queries=5, per_layer=True)(
        (torch.cat([dn, s_cls], 2), torch.cat([_boxes(2, 2, 4, gen=gen), s_box], 2)),
        (t_cls, t_box))
    loss.backward()
    assert s_cls.grad is not None and s_cls.grad.abs().sum() > 0
    assert s_box.grad is not None and s_box.grad.abs().sum() > 0
    assert dn.grad is None or dn.grad.abs().sum() == 0   # denoising queries untouched
    assert t_cls.grad is None and t_box.grad is None


def test_confidence_weights_the_box_loss():
    # one target; the same student box error weighs by the teacher's confidence
    t_box = torch.tensor([[[[0.5, 0.5, 0.2, 0.2]]]])
    s_box = torch.tensor([[[[0.55, 0.5, 0.2, 0.2]]]])
    s_cls = torch.zeros(1, 1, 1, 2)
    box_only = DETRDistillLoss(score_thr=0.1, cls_weight=0.0)
    sure = box_only((s_cls, s_box), (torch.tensor([[[[4.0, -9.0]]]]), t_box))
    unsure = box_only((s_cls, s_box), (torch.tensor([[[[0.0, -9.0]]]]), t_box))
    ratio = torch.sigmoid(torch.tensor(4.0)).item() / 0.5
    assert sure.item() / unsure.item() == pytest.approx(ratio, rel=1e-5)


def test_topk_and_no_targets():
    t_prob = torch.tensor([[[0.9, 0.1], [0.2, 0.8], [0.7, 0.1], [0.1, 0.2]]])
    loss_fn = DETRDistillLoss(score_thr=0.5, topk=2)
    assert loss_fn.select_targets(t_prob)[0].tolist() == [0, 1]
    # a teacher with nothing above the threshold: only the background push
    gen = torch.Generator().manual_seed(10)
    s_cls, s_box = _pair(1, 2, 4, 3, gen)
    t_cls = torch.full((1, 2, 4, 3), -8.0, dtype=torch.float64)
    loss = DETRDistillLoss(score_thr=0.5)((s_cls, s_box), (t_cls, s_box))
    p = s_cls[-1].sigmoid()
    expected = (p.pow(2) * -(1 - p).log()).sum()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-9)


def test_input_checks():
    loss_fn = DETRDistillLoss()
    cls, box = torch.zeros(2, 1, 4, 3), torch.rand(2, 1, 4, 4)
    with pytest.raises(TypeError, match='levelwise=False'):
        loss_fn(cls, (cls, box))
    with pytest.raises(ValueError, match='share the batch size and the number of classes'):
        loss_fn((torch.zeros(2, 1, 4, 5), box), (cls, box))
    with pytest.raises(ValueError, match='num_queries'):
        DETRDistillLoss(num_queries=8)((cls, box), (cls, box))
    with pytest.raises(ValueError, match='unmatched'):
        DETRDistillLoss(unmatched='teacher')
    with pytest.raises(KeyError, match='match_cost'):
        DETRDistillLoss(match_cost=dict(iou=1.0))
    # a single decoder layer without the layer dimension is accepted
    out = loss_fn((cls[0], box[0]), (cls, box))
    assert torch.isfinite(out)


def test_registered():
    loss = MODELS.build(dict(type='kd.DETRDistillLoss', score_thr=0.2, topk=5))
    assert isinstance(loss, DETRDistillLoss) and loss.topk == 5


def test_hungarian_survives_non_finite_costs():
    # a NaN/Inf cost must not crash the matcher (scipy refuses it); the finite
    # part decides: the NaN pairing is treated as the most expensive one
    cost = torch.tensor([[[0.0, 5.0], [float('nan'), 1.0], [4.0, float('inf')]]])
    b, rows, cols = DETRDistillLoss.hungarian(cost, [torch.tensor([7, 9])])
    assert {int(c): int(r) for r, c in zip(rows, cols)} == {7: 0, 9: 1}
