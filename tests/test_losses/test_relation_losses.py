"""Relation losses (SP, RKD, VID, IRG) against independent values.

Each reference transcribes the paper's formula with explicit Python loops in
float64 on numpy arrays (nothing shared with ``kd``); the SP example is worked
out by hand in the comments. The last section distils through
``SingleTeacherDistiller``.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from kd.distillers import SingleTeacherDistiller
from kd.losses import CRDLoss, IRGLoss, RKDLoss, SPKDLoss, VIDLoss
from kd.registry import MODELS, build_kd_module

from ..test_distillers.toy_models import toy_batch, toy_cfg


# ------------------------------------------------------------ references (loops)
def _rows(x: np.ndarray) -> list[list[float]]:
    return [list(map(float, r)) for r in x.reshape(x.shape[0], -1)]


def _dot(a, b) -> float:
    return sum(x * y for x, y in zip(a, b))


def sp_reference(student: np.ndarray, teacher: np.ndarray) -> float:
    """||norm_rows(F_s F_s^T) - norm_rows(F_t F_t^T)||_F^2 / N^2."""
    def similarity(feat):
        rows = _rows(feat)
        gram = [[_dot(a, b) for b in rows] for a in rows]
        return [[g / math.sqrt(_dot(r, r)) for g in r] for r in gram]
    g_s, g_t = similarity(student), similarity(teacher)
    n = len(g_s)
    return sum((g_s[i][j] - g_t[i][j]) ** 2 for i in range(n) for j in range(n)) / n**2


def _huber(x: float) -> float:
    return 0.5 * x * x if abs(x) < 1 else abs(x) - 0.5


def rkd_reference(student: np.ndarray, teacher: np.ndarray, w_dist, w_angle) -> float:
    def distances(feat):
        rows = _rows(feat)
        n = len(rows)
        d = [[math.dist(rows[i], rows[j]) if i != j else 0.0 for j in range(n)]
             for i in range(n)]
        positive = [v for r in d for v in r if v > 0]
        mean = sum(positive) / len(positive)
        return [[v / mean for v in r] for r in d]

    def angles(feat):
        rows = _rows(feat)
        n = len(rows)
        out = {}
        for i in range(n):
            for j in range(n):
                for k in range(n):
                    u = [a - b for a, b in zip(rows[j], rows[i])]
                    v = [a - b for a, b in zip(rows[k], rows[i])]
                    nu, nv = math.sqrt(_dot(u, u)), math.sqrt(_dot(v, v))
                    out[i, j, k] = 0.0 if nu == 0 or nv == 0 else _dot(u, v) / (nu * nv)
        return out

    d_s, d_t = distances(student), distances(teacher)
    n = len(d_s)
    loss_d = sum(_huber(d_s[i][j] - d_t[i][j]) for i in range(n) for j in range(n)) / n**2
    a_s, a_t = angles(student), angles(teacher)
    loss_a = sum(_huber(a_s[key] - a_t[key]) for key in a_s) / n**3
    return w_dist * loss_d + w_angle * loss_a


def _block_mean(x: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Adaptive average pooling for sizes that divide evenly, with loops."""
    n, c, h, w = x.shape
    fh, fw = h // size[0], w // size[1]
    out = np.zeros((n, c) + size)
    for a in range(size[0]):
        for b in range(size[1]):
            out[:, :, a, b] = x[:, :, a * fh:(a + 1) * fh, b * fw:(b + 1) * fw].mean((2, 3))
    return out


def vid_reference(student: np.ndarray, teacher: np.ndarray, weights, log_scale, eps) -> float:
    """0.5 * mean((mu - t)^2 / var + log var), mu from three 1x1 convs (no bias)."""
    if student.shape[2] > teacher.shape[2]:
        student = _block_mean(student, teacher.shape[2:])
    w1, w2, w3 = weights
    n, _, h, w = student.shape
    var = [math.log1p(math.exp(v)) + eps for v in log_scale]
    total, count = 0.0, 0
    for i in range(n):
        for y in range(h):
            for x in range(w):
                s = student[i, :, y, x]
                hidden = np.maximum(w1 @ s, 0)
                hidden = np.maximum(w2 @ hidden, 0)
                mu = w3 @ hidden
                for c in range(len(mu)):
                    total += 0.5 * ((mu[c] - teacher[i, c, y, x]) ** 2 / var[c]
                                    + math.log(var[c]))
                    count += 1
    return total / count


def _sq_dist(a, b) -> float:
    return sum((x - y) ** 2 for x, y in zip(a, b))


def _mse(a: list[float], b: list[float]) -> float:
    return sum((x - y) ** 2 for x, y in zip(a, b)) / len(a)


def irg_edges(feat: np.ndarray) -> list[float]:
    rows = _rows(feat)
    n = len(rows)
    e = [_sq_dist(rows[i], rows[j]) if i != j else 0.0 for i in range(n) for j in range(n)]
    top = max(e)
    return [v / top for v in e]


def irg_transform(early: np.ndarray, late: np.ndarray) -> list[float]:
    """Pool the larger map, average channel pairs of the wider layer, squared distances."""
    if early.shape[2] > late.shape[2]:
        early = _block_mean(early, late.shape[2:])
    if late.shape[1] == 2 * early.shape[1]:
        late = (late[:, 0::2] + late[:, 1::2]) / 2
    d = [_sq_dist(a, b) for a, b in zip(_rows(early), _rows(late))]
    top = max(d)
    return [v / top for v in d]


def irg_reference(s_list, t_list, w_v, w_e, w_t) -> float:
    vertex = _mse(s_list[-1].ravel(), t_list[-1].ravel())
    edge = sum(_mse(irg_edges(s), irg_edges(t)) for s, t in zip(s_list, t_list)) / len(s_list)
    pairs = range(len(s_list) - 2)
    transform = sum(_mse(irg_transform(s_list[i], s_list[i + 1]),
                         irg_transform(t_list[i], t_list[i + 1])) for i in pairs)
    transform = transform / len(pairs) if len(pairs) else 0.0
    return w_v * vertex + w_e * edge + w_t * transform


def crd_reference(student, teacher, w_s, b_s, w_t, b_t, mem_s, mem_t, contrast_idx,
                  num_samples, nce_t, eps=1e-7) -> float:
    """Two NCE terms; Z = mean(exp) * num_samples from this (the first) batch."""
    def embed(x, w, b):
        v = w @ x + b
        return v / math.sqrt(_dot(v, v))

    def nce(scores):
        n, k1 = len(scores), len(scores[0])
        z = sum(sum(r) for r in scores) / (n * k1) * num_samples
        noise = (k1 - 1) / num_samples
        total = 0.0
        for row in scores:
            p = [v / z for v in row]
            total += math.log(p[0] / (p[0] + noise + eps))
            total += sum(math.log(noise / (q + noise + eps)) for q in p[1:])
        return -total / n

    n = student.shape[0]
    v_s = [embed(student[i].ravel(), w_s, b_s) for i in range(n)]
    v_t = [embed(teacher[i].ravel(), w_t, b_t) for i in range(n)]
    s_scores = [[math.exp(_dot(mem_t[j], v_s[i]) / nce_t) for j in contrast_idx[i]]
                for i in range(n)]
    t_scores = [[math.exp(_dot(mem_s[j], v_t[i]) / nce_t) for j in contrast_idx[i]]
                for i in range(n)]
    return nce(s_scores) + nce(t_scores)


def _randn(*shape: int, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=gen, dtype=torch.float64)


def _check_gradients(loss_fn, student, teacher) -> None:
    student = student.clone().requires_grad_(True)
    teacher = teacher.clone().requires_grad_(True)
    loss = loss_fn(student, teacher)
    assert loss.dim() == 0
    loss.backward()
    assert student.grad is not None and student.grad.abs().sum() > 0
    assert teacher.grad is None


# -------------------------------------------------------------------------- SP
def test_sp_matches_reference_with_different_widths():
    student, teacher = _randn(5, 3, 2, 2), _randn(5, 7, 3, 3, seed=1)
    loss = SPKDLoss(loss_weight=3.0)(student, teacher)
    assert loss.item() == pytest.approx(3 * sp_reference(student.numpy(), teacher.numpy()),
                                        rel=1e-9)


def test_sp_hand_worked():
    # student rows (1, 0), (0, 1): G = I, rows already unit. Teacher rows (1, 0), (1, 0):
    # G = all ones, rows / sqrt 2. Differences: diagonal 1 - 1/sqrt2 = 0.292893,
    # off-diagonal 1/sqrt2. Sum of squares 2 * 0.085786 + 2 * 0.5 = 1.171573; / N^2 = 4
    # gives 0.292893 (= 1 - 1/sqrt2).
    student = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    teacher = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    assert SPKDLoss()(student, teacher).item() == pytest.approx(0.292893, abs=1e-6)
    # a scale of either feature changes nothing (row normalisation)
    assert SPKDLoss()(5 * student, teacher / 3).item() == pytest.approx(0.292893, abs=1e-6)


def test_sp_lists_sum_zero_gradients_errors():
    s1, t1 = _randn(4, 3, 2, 2), _randn(4, 5, 2, 2, seed=1)
    s2, t2 = _randn(4, 6, seed=2), _randn(4, 2, seed=3)
    both = SPKDLoss()([s1, s2], (t1, t2))
    assert both.item() == pytest.approx(
        sp_reference(s1.numpy(), t1.numpy()) + sp_reference(s2.numpy(), t2.numpy()), rel=1e-9)
    assert SPKDLoss()(s1, s1.clone()).item() == 0.0
    _check_gradients(SPKDLoss(), s1, t1)
    with pytest.raises(ValueError, match=r'\(4, 3, 2, 2\).*\(3, 5, 2, 2\)'):
        SPKDLoss()(s1, t1[:3])
    with pytest.raises(ValueError, match='2 student and 1 teacher'):
        SPKDLoss()([s1, s2], [t1])


# ------------------------------------------------------------------------- RKD
@pytest.mark.parametrize('w_dist,w_angle', [(25.0, 50.0), (1.0, 0.0), (0.0, 2.0)])
def test_rkd_matches_reference(w_dist, w_angle):
    student, teacher = _randn(5, 3, 2), _randn(5, 4, seed=1) * 3
    loss = RKDLoss(w_dist=w_dist, w_angle=w_angle, loss_weight=0.5)(student, teacher)
    expected = 0.5 * rkd_reference(student.numpy(), teacher.numpy(), w_dist, w_angle)
    assert loss.item() == pytest.approx(expected, rel=1e-9)


def test_rkd_hand_worked_invariances_zero_gradients_errors():
    # Three points on a line, 0, 1, 3 (student) vs 0, 1, 2 (teacher). Distances
    # student (1, 3, 2) mean 2 -> (0.5, 1.5, 1); teacher (1, 2, 1) mean 4/3 ->
    # (0.75, 1.5, 0.75). Differences (-0.25, 0, 0.25), each appears twice among
    # the 9 entries: huber sum 4 * 0.03125 = 0.125, / 9 = 0.013889. Collinear points
    # give the same angle cosines (+-1) on both sides: angle term 0.
    student = torch.tensor([[0.0], [1.0], [3.0]])
    teacher = torch.tensor([[0.0], [1.0], [2.0]])
    assert RKDLoss(w_dist=1.0, w_angle=1.0)(student, teacher).item() == pytest.approx(
        0.125 / 9, abs=1e-6)
    # relations ignore translation, scale and rotation of the embedding
    emb = _randn(6, 4)
    q, _ = torch.linalg.qr(_randn(4, 4, seed=5))
    assert RKDLoss()(emb, 3 * emb @ q + 1).item() == pytest.approx(0.0, abs=1e-8)
    assert RKDLoss()(emb, emb.clone()).item() == 0.0
    _check_gradients(RKDLoss(), _randn(4, 3), _randn(4, 5, seed=1))
    assert RKDLoss()(_randn(1, 3), _randn(1, 3, seed=1)).item() == 0.0  # no pairs
    with pytest.raises(ValueError, match=r'\(4, 3\).*\(5, 3\)'):
        RKDLoss()(torch.zeros(4, 3), torch.zeros(5, 3))


# ------------------------------------------------------------------------- VID
def _vid_weights(vid: VIDLoss):
    return [m.weight.detach().double().numpy()[:, :, 0, 0] for m in vid.regressor
            if isinstance(m, torch.nn.Conv2d)]


@pytest.mark.parametrize('s_size,t_size', [(2, 2), (4, 2)])
def test_vid_matches_reference(s_size, t_size):
    torch.manual_seed(0)
    vid = VIDLoss(in_channels=3, mid_channels=5, out_channels=4, loss_weight=2.0).double()
    with torch.no_grad():
        vid.log_scale.add_(torch.linspace(-1, 1, 4, dtype=torch.float64))
    student, teacher = _randn(2, 3, s_size, s_size), _randn(2, 4, t_size, t_size, seed=1)
    loss = vid(student, teacher)
    expected = 2.0 * vid_reference(student.numpy(), teacher.numpy(), _vid_weights(vid),
                                   vid.log_scale.detach().numpy(), vid.eps)
    assert loss.item() == pytest.approx(expected, rel=1e-9)



def _assert_grads_close(fast_grads, params, tol, dtype):
    """Each fast gradient equals the reference one in ``p.grad`` to ``tol`` x its max."""
    for fast, p in zip(fast_grads, params):
        scale = p.grad.abs().max().item()
        diff = (fast.double() - p.grad).abs().max().item()
        assert diff <= tol * scale, (dtype, tuple(p.shape), diff, scale)

def _vid_straightforward(vid: VIDLoss, student: torch.Tensor, teacher: torch.Tensor,
                         dtype: torch.dtype = torch.float64):
    """The paper's formula elementwise, NCHW layout, F.conv2d per layer."""
    x = student.to(dtype)
    convs = [m for m in vid.regressor if isinstance(m, torch.nn.Conv2d)]
    for i, conv in enumerate(convs):
        x = torch.nn.functional.conv2d(x, conv.weight.to(dtype))
        x = x.relu() if i < len(convs) - 1 else x
    var = (torch.nn.functional.softplus(vid.log_scale.to(dtype)) + vid.eps).view(1, -1, 1, 1)
    nll = 0.5 * ((x - teacher.to(dtype)) ** 2 / var + var.log())
    return vid.loss_weight * nll.mean()


@pytest.mark.parametrize('shape', [(64, 16, 32, 32), (64, 32, 16, 16), (16, 64, 8, 8)])
def test_vid_fast_path_equals_straightforward_loss_and_gradients(shape):
    """Channels-last regressor and per-channel sums (the CPU fast path) vs the formula.

    In float64 the two agree to 1e-9 (loss and every gradient): the same arithmetic.
    In float32 the loss agrees with the float64 formula to 1e-6; the gradients of the
    regressor weights (sums over N*H*W = 65536 positions) to the float32 rounding
    of such sums, 1e-5 of their largest value (the elementwise float32 formula is as far).
    """
    n, c, h, w = shape
    for dtype, loss_tol, grad_tol in ((torch.float64, 1e-9, 1e-9),
                                      (torch.float32, 1e-6, 1e-5)):
        torch.manual_seed(0)
        vid = VIDLoss(in_channels=c, out_channels=c, loss_weight=1.5).to(dtype)
        with torch.no_grad():
            vid.log_scale.add_(torch.linspace(-1, 1, c, dtype=dtype))
        student = torch.randn(shape, dtype=dtype).relu().requires_grad_(True)
        teacher = torch.randn(shape, dtype=dtype).relu()
        loss = vid(student, teacher)
        loss.backward()
        params = [student] + list(vid.parameters())
        fast_grads = [p.grad.clone() for p in params]
        for p in params:
            p.grad = None
        ref = _vid_straightforward(vid, student, teacher)
        ref.backward()
        assert loss.item() == pytest.approx(ref.item(), rel=loss_tol), dtype
        _assert_grads_close(fast_grads, params, grad_tol, dtype)


def test_vid_initial_variance_structure_gradients_errors():
    vid = VIDLoss(in_channels=3, out_channels=6, init_pred_var=5.0)
    torch.testing.assert_close(vid.variance(), torch.full((6, ), 5.0))
    convs = [m for m in vid.regressor if isinstance(m, torch.nn.Conv2d)]
    assert [(c.in_channels, c.out_channels) for c in convs] == [(3, 6), (6, 6), (6, 6)]
    assert all(c.bias is None and c.kernel_size == (1, 1) for c in convs)
    # (N, C) embeddings are 1x1 maps; the regressor and the variance learn
    student, teacher = torch.randn(4, 3, requires_grad=True), torch.randn(4, 6,
                                                                           requires_grad=True)
    loss = vid(student, teacher)
    loss.backward()
    assert student.grad.abs().sum() > 0 and teacher.grad is None
    assert vid.log_scale.grad is not None and convs[0].weight.grad is not None
    with pytest.raises(ValueError, match='in_channels'):
        VIDLoss(out_channels=4)
    with pytest.raises(ValueError, match=r'\(2, 5, 4, 4\).*\(2, 6, 4, 4\)'):
        vid(torch.zeros(2, 5, 4, 4), torch.zeros(2, 6, 4, 4))
    with pytest.raises(ValueError, match=r'\(2, 3\).*\(3, 6\)'):
        vid(torch.zeros(2, 3), torch.zeros(3, 6))


# ------------------------------------------------------------------------- IRG
def test_irg_matches_reference_on_three_layers():
    s_list = [_randn(4, 2, 4, 4), _randn(4, 4, 2, 2, seed=1), _randn(4, 3, seed=2)]
    t_list = [_randn(4, 3, 4, 4, seed=3), _randn(4, 6, 2, 2, seed=4), _randn(4, 3, seed=5)]
    loss = IRGLoss(w_vertex=1.0, w_edge=2.0, w_transform=3.0, loss_weight=0.5)(s_list, t_list)
    expected = 0.5 * irg_reference([s.numpy() for s in s_list], [t.numpy() for t in t_list],
                                   1.0, 2.0, 3.0)
    assert loss.item() == pytest.approx(expected, rel=1e-9)


def _irg_straightforward(s_list, t_list, w_v, w_e, w_t):
    """IRG in float64 with explicit pairwise differences and adaptive pooling."""
    def edges(f):
        flat = f.double().flatten(1)
        d = (flat[:, None, :] - flat[None, :, :]).pow(2).sum(-1).clamp(min=1e-12)
        d = d * (1 - torch.eye(len(flat), dtype=d.dtype))
        return d / d.max()

    def transform(a, b):
        size = (min(a.shape[2], b.shape[2]), min(a.shape[3], b.shape[3]))
        a = torch.nn.functional.adaptive_avg_pool2d(a.double(), size)
        b = torch.nn.functional.adaptive_avg_pool2d(b.double(), size)
        small = min(a.shape[1], b.shape[1])
        a = a.reshape(a.shape[0], small, -1, *size).mean(2)
        b = b.reshape(b.shape[0], small, -1, *size).mean(2)
        d = (a - b).flatten(1).pow(2).sum(1).clamp(min=1e-12)
        return d / d.max()

    mse = torch.nn.functional.mse_loss
    vertex = mse(s_list[-1].double(), t_list[-1].double())
    edge = sum(mse(edges(s), edges(t)) for s, t in zip(s_list, t_list)) / len(s_list)
    trans = sum(mse(transform(s_list[i], s_list[i + 1]), transform(t_list[i], t_list[i + 1]))
                for i in range(len(s_list) - 2)) / (len(s_list) - 2)
    return w_v * vertex + w_e * edge + w_t * trans


def test_irg_gram_edges_and_block_pooling_equal_straightforward_loss_and_gradients():
    """The Gram-matrix edges, the symmetric backward and the fixed-window pooling vs
    pairwise differences and adaptive pooling in float64: loss and student gradients.

    In float64 the two agree to 1e-9; in float32 the loss to 1e-6 and the gradients to
    1e-5 of their largest value (float32 rounding of sums over 4096-16384 elements).
    """
    shapes = [(32, 16, 16, 16), (32, 32, 8, 8), (32, 64, 4, 4)]
    for dtype, loss_tol, grad_tol in ((torch.float64, 1e-9, 1e-9),
                                      (torch.float32, 1e-6, 1e-5)):
        torch.manual_seed(0)
        s_list = [torch.randn(sh, dtype=dtype).relu().requires_grad_(True) for sh in shapes]
        t_list = [torch.randn(sh, dtype=dtype).relu() for sh in shapes]
        loss = IRGLoss(w_vertex=0.1, w_edge=5.0, w_transform=5.0)(s_list, t_list)
        loss.backward()
        fast = [s.grad.clone() for s in s_list]
        for s in s_list:
            s.grad = None
        ref = _irg_straightforward(s_list, t_list, 0.1, 5.0, 5.0)
        ref.backward()
        assert loss.item() == pytest.approx(ref.item(), rel=loss_tol), dtype
        _assert_grads_close(fast, s_list, grad_tol, dtype)


def test_pool_to_equals_adaptive_pooling_forward_and_backward():
    from kd.losses.relation.irg import pool_to
    torch.manual_seed(0)
    for shape, size in (((2, 3, 32, 32), (16, 16)), ((2, 3, 12, 8), (4, 2)),
                        ((2, 3, 10, 10), (4, 4)), ((2, 3, 5, 5), (5, 5))):
        x = torch.randn(shape, dtype=torch.float64, requires_grad=True)
        g = torch.randn(shape[:2] + size, dtype=torch.float64)
        out = pool_to(x, size)
        grad, = torch.autograd.grad(out, x, g)
        ref = torch.nn.functional.adaptive_avg_pool2d(x, size)
        ref_grad, = torch.autograd.grad(ref, x, g)
        torch.testing.assert_close(out, ref, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(grad, ref_grad, rtol=1e-12, atol=1e-12)


def test_irg_single_layer_hand_worked_zero_gradients_errors():
    # one layer: vertex MSE + edge term. Student points 0, 1, 3; teacher 0, 2, 4.
    # Vertex: differences (0, -1, -1) -> MSE 2/3. Edges (squared, / max): student
    # (1, 9, 4) / 9, teacher (4, 16, 4) / 16; entry differences 1/9 - 1/4 = -0.138889,
    # 0, 4/9 - 1/4 = 0.194444, each twice among 9: (2 * 0.019290 + 2 * 0.037809) / 9
    # = 0.012689.
    student = torch.tensor([[0.0], [1.0], [3.0]])
    teacher = torch.tensor([[0.0], [2.0], [4.0]])
    assert IRGLoss(w_edge=0.0)(student, teacher).item() == pytest.approx(2 / 3)
    assert IRGLoss(w_vertex=0.0)(student, teacher).item() == pytest.approx(0.012689, abs=1e-6)
    layers = [_randn(3, 2, 4, 4), _randn(3, 4, 2, 2, seed=1), _randn(3, 5, seed=2)]
    assert IRGLoss()(layers, [x.clone() for x in layers]).item() == 0.0
    _check_gradients(IRGLoss(), _randn(3, 5), _randn(3, 5, seed=1))
    with pytest.raises(ValueError, match=r'\(3, 5\).*\(3, 4\)'):
        IRGLoss()(_randn(3, 5), _randn(3, 4))
    with pytest.raises(ValueError, match=r'\(3, 5\).*\(2, 5\)'):
        IRGLoss()(_randn(3, 5), _randn(2, 5))
    with pytest.raises(ValueError, match='3 student and 2 teacher'):
        IRGLoss()(layers, layers[1:])
    # without the vertex term the widths may differ: teacher (0, 0), (2, 0), (4, 0) has the
    # same distances as the 1-wide teacher above, so the edge term is again 0.012689
    wide = torch.tensor([[0.0, 0.0], [2.0, 0.0], [4.0, 0.0]])
    assert IRGLoss(w_vertex=0.0)(student, wide).item() == pytest.approx(0.012689, abs=1e-6)


def test_irg_transformation_gradients_reach_early_layers():
    s_list = [_randn(3, 2, 4, 4).requires_grad_(True), _randn(3, 4, 2, 2, seed=1),
              _randn(3, 5, seed=2)]
    t_list = [_randn(3, 2, 4, 4, seed=3), _randn(3, 4, 2, 2, seed=4), _randn(3, 5, seed=5)]
    IRGLoss(w_vertex=0.0, w_edge=0.0)(s_list, t_list).backward()
    assert s_list[0].grad.abs().sum() > 0


# ------------------------------------------------------------------------- CRD
def _crd(**kwargs) -> CRDLoss:
    torch.manual_seed(0)
    cfg = dict(in_channels=3, out_channels=5, num_samples=10, feat_dim=4, nce_k=3)
    cfg.update(kwargs)
    return CRDLoss(**cfg).double()


def test_crd_matches_reference_and_updates_memory():
    crd = _crd(loss_weight=0.5)
    student, teacher = _randn(2, 3), _randn(2, 5, seed=1)
    sample_idx = torch.tensor([7, 2])
    contrast_idx = torch.tensor([[7, 0, 3, 3], [2, 9, 5, 1]])
    params = [x.detach().numpy().copy() for x in (
        crd.embed_student.weight, crd.embed_student.bias, crd.embed_teacher.weight,
        crd.embed_teacher.bias, crd.memory_student, crd.memory_teacher)]
    loss = crd(student, teacher, sample_idx=sample_idx, contrast_idx=contrast_idx)
    expected = crd_reference(student.numpy(), teacher.numpy(), *params,
                             contrast_idx.tolist(), num_samples=10, nce_t=0.07)
    assert loss.item() == pytest.approx(0.5 * expected, rel=1e-9)
    # rows 7 and 2 move to normalise(0.5 * old + 0.5 * embedding); the others stay
    w, b, mem = params[0], params[1], params[4]
    for i, row in enumerate([7, 2]):
        v = w @ student[i].numpy() + b
        v = v / np.linalg.norm(v)
        new = 0.5 * mem[row] + 0.5 * v
        np.testing.assert_allclose(crd.memory_student[row].numpy(), new / np.linalg.norm(new))
    np.testing.assert_array_equal(crd.memory_student[[0, 1, 3]].numpy(), mem[[0, 1, 3]])
    # Z is fixed by the first batch
    z = crd.z_student.item()
    crd(student * 2, teacher, sample_idx=sample_idx, contrast_idx=contrast_idx)
    assert crd.z_student.item() == z > 0


def test_crd_indices_from_data_samples_gradients_errors():
    from mmengine.structures import BaseDataElement
    crd = _crd(nce_k=4)
    student = _randn(3, 3).requires_grad_(True)
    teacher = _randn(3, 5, seed=1).requires_grad_(True)
    samples = [BaseDataElement(metainfo=dict(sample_idx=i)) for i in (4, 0, 9)]
    loss = crd(student, teacher, samples)        # random negatives, positive first
    loss.backward()
    assert loss.dim() == 0 and torch.isfinite(loss)
    assert student.grad.abs().sum() > 0 and teacher.grad is None
    assert crd.embed_teacher.weight.grad is not None    # the teacher embedding trains
    crd.eval()
    before = crd.memory_teacher.clone()
    crd(student, teacher, [dict(sample_idx=1), dict(sample_idx=2), dict(sample_idx=3)])
    torch.testing.assert_close(crd.memory_teacher, before)   # no update in eval mode
    with pytest.raises(ValueError, match='num_samples'):
        CRDLoss(in_channels=3, out_channels=5)
    with pytest.raises(ValueError, match='sample_idx'):
        crd(student, teacher)
    with pytest.raises(ValueError, match=r'\[0, num_samples=10\)'):
        crd(student, teacher, sample_idx=torch.tensor([0, 1, 10]))
    with pytest.raises(ValueError, match=r'\(3, 4\).*\(3, 5\)'):
        crd(torch.zeros(3, 4), torch.zeros(3, 5), sample_idx=torch.tensor([0, 1, 2]))


# ------------------------------------------------------------------- registry
@pytest.mark.parametrize('cfg,cls', [
    (dict(type='SPKDLoss', loss_weight=3000.0), SPKDLoss),
    (dict(type='RKDLoss', w_dist=10.0), RKDLoss),
    (dict(type='VIDLoss', in_channels=8, out_channels=16), VIDLoss),
    (dict(type='IRGLoss', w_transform=0.0), IRGLoss),
    (dict(type='CRDLoss', in_channels=8, out_channels=16, num_samples=100), CRDLoss),
])
def test_relation_losses_build_from_config(cfg, cls):
    assert type(build_kd_module(cfg)) is cls
    built = MODELS.build(dict(cfg, type='kd.' + cfg['type']))
    assert type(built) is cls and built.loss_weight == cfg.get('loss_weight', 1.0)


# ---------------------------------------------------------- through the distiller
@pytest.fixture
def toy_teacher(tmp_path):
    from tests.test_distillers.toy_models import write_toy_teacher
    cfg, ckpt, _ = write_toy_teacher(tmp_path)
    return dict(config=cfg, checkpoint=ckpt)


# The distiller's build-time probe requires equal student / teacher shapes for
# every loss (a connector fixes widths), so these entries use matching records
# (neck levels, logits); the losses themselves accept different widths.
@pytest.mark.parametrize('entry', [
    dict(student='neck', teacher='neck', loss=dict(type='SPKDLoss', loss_weight=100.0)),
    dict(student='head', teacher='head', loss=dict(type='RKDLoss')),
    dict(student='neck', teacher='neck', loss=dict(type='RKDLoss', w_angle=0.0)),
    dict(student='neck', teacher='neck', loss=dict(type='VIDLoss', in_channels=8,
                                                   out_channels=8)),
    dict(student='head', teacher='head', loss=dict(type='IRGLoss')),
    dict(student='neck', teacher='neck', loss=dict(type='IRGLoss')),
    dict(student='head', teacher='head', loss=dict(type='CRDLoss', in_channels=3,
                                                   out_channels=3, num_samples=16, nce_k=8)),
])
def test_relation_losses_work_in_the_distiller(toy_teacher, entry):
    model = SingleTeacherDistiller(student=toy_cfg(width=4, out=8), teacher=toy_teacher,
                                   distill=dict(rel=entry), probe_shape=(3, 16, 16))
    inputs, samples = toy_batch()
    for i, sample in enumerate(samples):   # dataset indices, for CRD's memory bank
        sample['sample_idx'] = 2 * i
    losses = model.loss(inputs, samples)
    value = losses['distill.rel']
    assert value.dim() == 0 and torch.isfinite(value) and value.item() > 0
    total, _ = model.parse_losses(losses)
    total.backward()
    assert model.student.backbone.layer1.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.teacher.parameters())
    if entry['loss']['type'] in ('VIDLoss', 'CRDLoss'):   # their parameters train too
        names = [n for n, _ in model.named_parameters() if n.startswith('entries.rel.losses')]
        assert names
        assert all(p.grad is not None for n, p in model.named_parameters()
                   if n.startswith('entries.rel.losses'))


def test_crd_dense_and_gathered_scores_agree():
    # the whole-bank product (small banks) and the row gather (large banks) are the same
    # dot products: same loss, same gradients, same memory updates
    results = []
    for factor in (1000, 0):   # dense path, then gather path
        crd = _crd(num_samples=12, nce_k=5)
        crd.dense_scores_factor = factor
        student = _randn(4, 3).requires_grad_()
        teacher = _randn(4, 5, seed=1)
        contrast_idx = torch.tensor([[7, 0, 3, 3, 11, 1], [2, 9, 5, 1, 1, 0],
                                     [4, 4, 8, 10, 6, 2], [0, 7, 7, 3, 2, 5]])
        loss = crd(student, teacher, sample_idx=contrast_idx[:, 0], contrast_idx=contrast_idx)
        loss.backward()
        results.append((loss.detach(), student.grad, crd.embed_student.weight.grad,
                        crd.embed_teacher.weight.grad, crd.memory_student.clone(),
                        crd.memory_teacher.clone()))
    for dense, gathered in zip(*results):
        torch.testing.assert_close(dense, gathered, rtol=1e-12, atol=1e-12)
