"""AT, MGD, PKD, ICKD, NST, PKT and FBKD losses against independent values.

Each reference below transcribes the paper's formula (with the normalisation
of the reference implementation named in the loss docstring) with explicit
Python loops / numpy in float64, sharing no code with ``kd``. AT, PKD, ICKD,
NST and PKT also have a tiny example whose value is worked out by hand in the
comments. Two integration tests run PKD and MGD inside SingleTeacherDistiller.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from kd.distillers import SingleTeacherDistiller
from kd.losses import ATLoss, FBKDLoss, ICKDLoss, MGDLoss, NSTLoss, PKDLoss, PKTLoss
from kd.registry import MODELS, build_kd_module
from tests.test_distillers.toy_models import toy_batch, toy_cfg


# ------------------------------------------------------------------ references
def at_reference(student: np.ndarray, teacher: np.ndarray, p: float) -> float:
    """Per sample: a = mean_c |f|^p per location, a / ||a||_2; mean of squared diff."""
    n, _, h, w = student.shape

    def attention(feat: np.ndarray) -> list[float]:
        c = feat.shape[0]
        values = [sum(abs(feat[k, y, x]) ** p for k in range(c)) / c
                  for y in range(h) for x in range(w)]
        norm = math.sqrt(sum(v * v for v in values))
        return [v / norm for v in values]

    total = 0.0
    for i in range(n):
        a_s, a_t = attention(student[i]), attention(teacher[i])
        total += sum((x - y) ** 2 for x, y in zip(a_s, a_t))
    return total / (n * h * w)


def pkd_reference(student: np.ndarray, teacher: np.ndarray) -> float:
    """Per channel: standardise over (N, H, W) with the unbiased std (+1e-6); MSE / 2."""
    n, c, h, w = student.shape

    def standardise(feat: np.ndarray) -> np.ndarray:
        out = np.empty_like(feat)
        for k in range(c):
            values = [feat[i, k, y, x] for i in range(n) for y in range(h) for x in range(w)]
            mean = sum(values) / len(values)
            std = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
            for i in range(n):
                for y in range(h):
                    for x in range(w):
                        out[i, k, y, x] = (feat[i, k, y, x] - mean) / (std + 1e-6)
        return out

    z_s, z_t = standardise(student), standardise(teacher)
    return float(((z_s - z_t) ** 2).sum() / student.size / 2)


def ickd_reference(student: np.ndarray, teacher: np.ndarray) -> float:
    """Per sample: Gram G_ij = <f_i, f_j>, rows L2-normalised; sum sq diff / (N * C)."""
    n, c = student.shape[:2]

    def correlation(feat: np.ndarray) -> list[list[float]]:
        flat = [list(feat[k].ravel()) for k in range(c)]
        gram = [[sum(a * b for a, b in zip(flat[i], flat[j])) for j in range(c)]
                for i in range(c)]
        return [[g / math.sqrt(sum(v * v for v in row)) for g in row] for row in gram]

    total = 0.0
    for i in range(n):
        g_s, g_t = correlation(student[i]), correlation(teacher[i])
        total += sum((g_s[a][b] - g_t[a][b]) ** 2 for a in range(c) for b in range(c))
    return total / (n * c)


def nst_reference(student: np.ndarray, teacher: np.ndarray, kernel: str) -> float:
    """Per sample: channels as L2-normalised points; MMD^2 averaged over every kernel entry."""
    n = student.shape[0]

    def points(feat: np.ndarray) -> list[list[float]]:
        rows = [list(feat[k].ravel()) for k in range(feat.shape[0])]
        return [[v / math.sqrt(sum(u * u for u in row)) for v in row] for row in rows]

    def k(x: list[float], y: list[float]) -> float:
        dot = sum(a * b for a, b in zip(x, y))
        return dot ** 2 if kernel == 'poly' else dot

    def kernel_mean(xs_per_sample, ys_per_sample) -> float:
        values = [k(x, y) for xs, ys in zip(xs_per_sample, ys_per_sample)
                  for x in xs for y in ys]
        return sum(values) / len(values)

    s = [points(student[i]) for i in range(n)]
    t = [points(teacher[i]) for i in range(n)]
    return kernel_mean(t, t) + kernel_mean(s, s) - 2 * kernel_mean(s, t)


def pkt_reference(student: np.ndarray, teacher: np.ndarray, eps: float) -> float:
    """Rescaled cosine similarities, row-normalised; mean over N*N of P log((P+e)/(Q+e))."""
    n = student.shape[0]

    def conditional(emb: np.ndarray) -> list[list[float]]:
        rows = [list(emb[i].ravel()) for i in range(n)]
        unit = [[v / (math.sqrt(sum(u * u for u in row)) + eps) for v in row] for row in rows]
        sim = [[(sum(a * b for a, b in zip(unit[i], unit[j])) + 1) / 2 for j in range(n)]
               for i in range(n)]
        return [[v / sum(row) for v in row] for row in sim]

    p, q = conditional(teacher), conditional(student)
    return sum(p[i][j] * math.log((p[i][j] + eps) / (q[i][j] + eps))
               for i in range(n) for j in range(n)) / (n * n)


def conv2d_reference(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """Stride-1 convolution with zero padding ``k // 2``, written with loops."""
    n, c_in, h, w = x.shape
    c_out, _, kh, kw = weight.shape
    ph, pw = kh // 2, kw // 2
    out = np.zeros((n, c_out, h, w))
    for i in range(n):
        for o in range(c_out):
            for y in range(h):
                for z in range(w):
                    acc = bias[o]
                    for k in range(c_in):
                        for dy in range(kh):
                            for dx in range(kw):
                                yy, xx = y + dy - ph, z + dx - pw
                                if 0 <= yy < h and 0 <= xx < w:
                                    acc += weight[o, k, dy, dx] * x[i, k, yy, xx]
                    out[i, o, y, z] = acc
    return out


def mgd_reference(student: np.ndarray, teacher: np.ndarray, keep: np.ndarray,
                  params: dict[str, np.ndarray], alpha: float) -> float:
    """align (1x1, optional) -> * keep mask -> conv3x3 -> ReLU -> conv3x3; SSE / N * alpha."""
    if 'align.weight' in params:
        student = conv2d_reference(student, params['align.weight'], params['align.bias'])
    hidden = conv2d_reference(student * keep, params['generation.0.weight'],
                              params['generation.0.bias'])
    rebuilt = conv2d_reference(np.maximum(hidden, 0), params['generation.2.weight'],
                               params['generation.2.bias'])
    return float(((rebuilt - teacher) ** 2).sum() / student.shape[0] * alpha)


def fbkd_reference(student: np.ndarray, teacher: np.ndarray, params: dict[str, np.ndarray],
                   temperature: float, weights: tuple[float, float, float, float],
                   pools: tuple[int, ...]) -> float:
    """FBKD with numpy: attention mask, adaptations, dot-product non-local (BN in train mode)."""
    n, c, h, w = student.shape

    def param(prefix: str, suffix: str) -> np.ndarray:
        (name,) = [k for k in params if k.startswith(prefix + '.') and k.endswith(suffix)]
        return params[name]

    def conv1x1(x, weight, bias=None):
        out = np.einsum('oi,nihw->nohw', weight[:, :, 0, 0], x)
        return out if bias is None else out + bias[None, :, None, None]

    def attention(f):
        energy = np.abs(f).mean(axis=1).reshape(n, -1) / temperature
        soft = np.exp(energy - energy.max(axis=1, keepdims=True))
        soft = soft / soft.sum(axis=1, keepdims=True)
        return (soft * h * w).reshape(n, 1, h, w)

    def maxpool(x, k):
        b, ch, hh, ww = x.shape
        return x.reshape(b, ch, hh // k, k, ww // k, k).max(axis=(3, 5))

    def non_local(x, prefix):
        def emb(part):
            return conv1x1(x, param(f'{prefix}.{part}', 'conv.weight'),
                           param(f'{prefix}.{part}', 'conv.bias'))
        theta, phi, g = emb('theta'), emb('phi'), emb('g')
        for k in pools:
            phi, g = maxpool(phi, k), maxpool(g, k)
        inter = theta.shape[1]
        th = theta.reshape(n, inter, -1).transpose(0, 2, 1)     # (n, HW, inter)
        pairwise = th @ phi.reshape(n, inter, -1)                # (n, HW, M)
        pairwise = pairwise / pairwise.shape[-1]
        y = pairwise @ g.reshape(n, inter, -1).transpose(0, 2, 1)  # (n, HW, inter)
        y = y.transpose(0, 2, 1).reshape(n, inter, h, w)
        out = conv1x1(y, param(f'{prefix}.conv_out', 'conv.weight'))
        mean = out.mean(axis=(0, 2, 3), keepdims=True)
        var = out.var(axis=(0, 2, 3), keepdims=True)
        out = (out - mean) / np.sqrt(var + 1e-5)
        out = out * param(f'{prefix}.conv_out', 'bn.weight')[None, :, None, None] \
            + param(f'{prefix}.conv_out', 'bn.bias')[None, :, None, None]
        return x + out

    mask = (attention(student) + attention(teacher)) / 2
    adapted = conv1x1(student, params['feature_adaptation.weight'],
                      params['feature_adaptation.bias'])
    feat = math.sqrt(((teacher - adapted) ** 2 * mask).sum())
    pooled = student.mean(axis=(2, 3)) @ params['channel_adaptation.weight'].T \
        + params['channel_adaptation.bias']
    channel = math.sqrt(((teacher.mean(axis=(2, 3)) - pooled) ** 2).sum())
    spatial_s = conv2d_reference(student.mean(axis=1, keepdims=True),
                                 params['spatial_adaptation.weight'],
                                 params['spatial_adaptation.bias'])
    spatial = math.sqrt(((teacher.mean(axis=1, keepdims=True) - spatial_s) ** 2).sum())
    relation_s = conv1x1(non_local(student, 'student_non_local'),
                         params['non_local_adaptation.weight'],
                         params['non_local_adaptation.bias'])
    relation = math.sqrt(((non_local(teacher, 'teacher_non_local') - relation_s) ** 2).sum())
    w_feat, w_channel, w_spatial, w_nonlocal = weights
    return w_feat * feat + w_channel * channel + w_spatial * spatial + w_nonlocal * relation


# --------------------------------------------------------------------- helpers
def _rand(*shape: int, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=gen, dtype=torch.float64) * 2


def _check_gradients(loss_fn: torch.nn.Module, s_shape: tuple[int, ...],
                     t_shape: tuple[int, ...]) -> None:
    student = _rand(*s_shape, seed=3).requires_grad_(True)
    teacher = _rand(*t_shape, seed=4).requires_grad_(True)
    loss = loss_fn(student, teacher)
    assert loss.dim() == 0
    loss.backward()
    assert student.grad is not None and student.grad.abs().sum() > 0
    assert teacher.grad is None


# ---------------------------------------------------------------------- ATLoss
@pytest.mark.parametrize('p', [1.0, 2.0, 3.0])
def test_at_matches_reference(p):
    student, teacher = _rand(2, 3, 4, 5, seed=0), _rand(2, 6, 4, 5, seed=1)  # C differ
    loss = ATLoss(p=p, loss_weight=2.0)(student, teacher)
    expected = 2.0 * at_reference(student.numpy(), teacher.numpy(), p)
    assert loss.item() == pytest.approx(expected, rel=1e-9)


def test_at_hand_worked():
    # student C=1, (H, W) = (1, 2), values (sqrt 3, 2): |f|^2 = (3, 4), norm 5 -> (0.6, 0.8)
    # teacher C=2, channels (1, 0) and (-1, 0): mean |f|^2 = (1, 0) -> (1, 0)
    # squared differences (0.16, 0.64), mean over N*H*W = 2 -> 0.4
    student = torch.tensor([[[[math.sqrt(3.0), 2.0]]]])
    teacher = torch.tensor([[[[1.0, 0.0]], [[-1.0, 0.0]]]])
    assert ATLoss()(student, teacher).item() == pytest.approx(0.4, abs=1e-6)
    # p=1 uses |f|: student (-3, 4) -> (0.6, 0.8); teacher mean |f| = (1, 0): again 0.4
    student = torch.tensor([[[[-3.0, 4.0]]]])
    assert ATLoss(p=1)(student, teacher).item() == pytest.approx(0.4, abs=1e-6)
    # the attention map ignores a global scale of the feature
    assert ATLoss()(5 * teacher, teacher).item() == pytest.approx(0.0, abs=1e-12)


def test_at_gradients_and_errors():
    _check_gradients(ATLoss(), (2, 3, 4, 4), (2, 5, 4, 4))
    student = _rand(2, 3, 4, 4, seed=0)
    assert ATLoss()(student, student.clone()).item() == 0.0
    with pytest.raises(ValueError, match=r'\(1, 4, 4, 4\).*\(1, 4, 2, 2\).*ResizeConnector'):
        ATLoss()(torch.zeros(1, 4, 4, 4), torch.zeros(1, 4, 2, 2))
    with pytest.raises(ValueError, match=r'\(2, 4, 2, 2\).*\(1, 4, 2, 2\)'):
        ATLoss()(torch.zeros(2, 4, 2, 2), torch.zeros(1, 4, 2, 2))
    with pytest.raises(ValueError, match=r'\(N, C, H, W\)'):
        ATLoss()(torch.zeros(2, 4), torch.zeros(2, 4))
    with pytest.raises(ValueError, match='p must be positive'):
        ATLoss(p=0)


# --------------------------------------------------------------------- MGDLoss
@pytest.mark.parametrize('s_ch,t_ch', [(3, 3), (2, 3)])
def test_mgd_matches_reference_with_same_mask(s_ch, t_ch):
    torch.manual_seed(0)
    loss_fn = MGDLoss(student_channels=s_ch, teacher_channels=t_ch, alpha_mgd=0.5,
                      lambda_mgd=0.5, loss_weight=3.0).double()
    assert (loss_fn.align is None) == (s_ch == t_ch)
    student, teacher = _rand(2, s_ch, 3, 4, seed=0), _rand(2, t_ch, 3, 4, seed=1)
    torch.manual_seed(123)
    loss = loss_fn(student, teacher)
    # the same mask, drawn independently: global CPU RNG, pixel kept iff rand <= 1 - lambda
    torch.manual_seed(123)
    keep = (torch.rand(2, 1, 3, 4).numpy() <= 0.5).astype(np.float64)
    assert 0 < keep.sum() < keep.size  # the seed gives a real mask (some kept, some dropped)
    params = {k: v.detach().numpy() for k, v in loss_fn.named_parameters()}
    expected = 3.0 * mgd_reference(student.numpy(), teacher.numpy(), keep, params, 0.5)
    assert loss.item() == pytest.approx(expected, rel=1e-9)
    # a fresh mask on the next call
    assert loss_fn(student, teacher).item() != pytest.approx(loss.item(), rel=1e-9)


def test_mgd_no_mask_and_defaults():
    # lambda_mgd = 0 keeps every pixel; defaults alpha 2e-5, lambda 0.65
    loss_fn = MGDLoss(4, 4)
    assert (loss_fn.alpha_mgd, loss_fn.lambda_mgd, loss_fn.loss_weight) == (2e-5, 0.65, 1.0)
    loss_fn = MGDLoss(2, 2, lambda_mgd=0.0, alpha_mgd=1.0).double()
    student, teacher = _rand(1, 2, 3, 3, seed=0), _rand(1, 2, 3, 3, seed=1)
    params = {k: v.detach().numpy() for k, v in loss_fn.named_parameters()}
    expected = mgd_reference(student.numpy(), teacher.numpy(), np.ones((1, 1, 3, 3)),
                             params, 1.0)
    assert loss_fn(student, teacher).item() == pytest.approx(expected, rel=1e-9)


def test_mgd_gradients_reach_student_align_and_generation():
    loss_fn = MGDLoss(student_channels=2, teacher_channels=3).double()
    student = _rand(2, 2, 4, 4, seed=0).requires_grad_(True)
    teacher = _rand(2, 3, 4, 4, seed=1).requires_grad_(True)
    torch.manual_seed(0)
    loss = loss_fn(student, teacher)
    assert loss.dim() == 0
    loss.backward()
    assert student.grad is not None and student.grad.abs().sum() > 0
    assert teacher.grad is None
    names = {name for name, _ in loss_fn.named_parameters()}
    assert names == {'align.weight', 'align.bias', 'generation.0.weight', 'generation.0.bias',
                     'generation.2.weight', 'generation.2.bias'}
    for name, param in loss_fn.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name


def test_mgd_channel_arguments_and_errors():
    with pytest.raises(ValueError, match='student_channels.*teacher_channels'):
        MGDLoss()
    with pytest.raises(ValueError, match='teacher_channels=None'):
        MGDLoss(student_channels=4)
    alias = MGDLoss(in_channels=4, out_channels=8)
    assert (alias.student_channels, alias.teacher_channels) == (4, 8)
    assert alias.align.in_channels == 4 and alias.generation[0].in_channels == 8
    same = MGDLoss(student_channels=4, teacher_channels=8, in_channels=4, out_channels=8)
    assert same.teacher_channels == 8
    with pytest.raises(ValueError, match='disagree'):
        MGDLoss(student_channels=4, teacher_channels=8, in_channels=5)
    with pytest.raises(ValueError, match='lambda_mgd'):
        MGDLoss(4, 4, lambda_mgd=1.0)
    loss_fn = MGDLoss(4, 8)
    with pytest.raises(ValueError, match=r'student_channels=4.*\(1, 5, 2, 2\).*\(1, 8, 2, 2\)'):
        loss_fn(torch.zeros(1, 5, 2, 2), torch.zeros(1, 8, 2, 2))
    with pytest.raises(ValueError, match=r'\(1, 4, 4, 4\).*\(1, 8, 2, 2\).*ResizeConnector'):
        loss_fn(torch.zeros(1, 4, 4, 4), torch.zeros(1, 8, 2, 2))
    with pytest.raises(ValueError, match=r'\(N, C, H, W\)'):
        loss_fn(torch.zeros(1, 4), torch.zeros(1, 8))


# --------------------------------------------------------------------- PKDLoss
def test_pkd_matches_reference():
    student, teacher = _rand(3, 4, 3, 5, seed=0), _rand(3, 4, 3, 5, seed=1) + 7
    loss = PKDLoss(loss_weight=2.0)(student, teacher)
    expected = 2.0 * pkd_reference(student.numpy(), teacher.numpy())
    assert loss.item() == pytest.approx(expected, rel=1e-9)


def test_pkd_hand_worked():
    # N=C=H=1, W=2. student (0, 2): mean 1, unbiased std sqrt(2) -> (-1/sqrt2, 1/sqrt2);
    # teacher (5, 1): mean 3, std sqrt(8) -> (1/sqrt2, -1/sqrt2). Differences (-sqrt2, sqrt2),
    # squares (2, 2), mean 2, / 2 -> 1.0  (= (1 - r) * (M - 1) / M with r = -1, M = 2)
    student = torch.tensor([[[[0.0, 2.0]]]])
    teacher = torch.tensor([[[[5.0, 1.0]]]])
    assert PKDLoss()(student, teacher).item() == pytest.approx(1.0, abs=1e-5)
    # a positive affine map of the teacher is a perfect match (Pearson r = 1)
    assert PKDLoss()(student, 10 * student + 3).item() == pytest.approx(0.0, abs=1e-10)
    # the statistics are per channel over the batch: two samples (0, 2) and (4, 6) share
    # mean 3 and std sqrt(20/3), so a per-sample standardisation (which would give 0) differs
    student = torch.tensor([[[[0.0, 2.0]]], [[[4.0, 6.0]]]])
    teacher = torch.tensor([[[[4.0, 6.0]]], [[[0.0, 2.0]]]])
    # z_s = (-3, -1, 1, 3) / sqrt(20/3), z_t = (1, 3, -3, -1) / sqrt(20/3)
    # squared differences (16, 16, 16, 16) * 3/20 = 2.4 each -> mean 2.4, / 2 -> 1.2
    assert PKDLoss()(student, teacher).item() == pytest.approx(1.2, abs=1e-5)


def test_pkd_levels_and_resize():
    s0, t0 = _rand(2, 3, 4, 4, seed=0), _rand(2, 3, 4, 4, seed=1)
    s1, t1 = _rand(2, 3, 2, 2, seed=2), _rand(2, 3, 2, 2, seed=3)
    pair = PKDLoss()((s0, s1), [t0, t1])
    single = PKDLoss()(s0, t0) + PKDLoss()(s1, t1)
    assert pair.item() == pytest.approx(single.item(), rel=1e-12)
    # bilinear 4x4 -> 2x2 (align_corners=False, no antialias) is a 2x2 block average
    big = _rand(2, 3, 4, 4, seed=5)
    pooled = big.numpy().reshape(2, 3, 2, 2, 2, 2).mean(axis=(3, 5))
    small = _rand(2, 3, 2, 2, seed=6)
    expected = pkd_reference(pooled, small.numpy())
    assert PKDLoss()(big, small).item() == pytest.approx(expected, rel=1e-9)  # resize student
    assert PKDLoss(resize_stu=False)(small, big).item() == pytest.approx(expected, rel=1e-9)
    # resize_stu=True upsamples a smaller student to the teacher instead
    up = PKDLoss()(small, big).item()
    assert up != pytest.approx(expected, rel=1e-6)


def test_pkd_gradients_and_errors():
    _check_gradients(PKDLoss(), (2, 3, 4, 4), (2, 3, 4, 4))
    student = _rand(2, 3, 4, 4, seed=0)
    assert PKDLoss()(student, student.clone()).item() == 0.0
    with pytest.raises(ValueError, match=r'\(1, 4, 2, 2\).*\(1, 8, 2, 2\).*connector'):
        PKDLoss()(torch.zeros(1, 4, 2, 2), torch.zeros(1, 8, 2, 2))
    with pytest.raises(ValueError, match='both be tensors'):
        PKDLoss()(torch.zeros(1, 4, 2, 2), [torch.zeros(1, 4, 2, 2)])
    with pytest.raises(ValueError, match='2 student and 1 teacher'):
        PKDLoss()([torch.zeros(1, 4, 2, 2)] * 2, [torch.zeros(1, 4, 2, 2)])
    with pytest.raises(ValueError, match=r'\(N, C, H, W\)'):
        PKDLoss()(torch.zeros(2, 4), torch.zeros(2, 4))
    with pytest.raises(ValueError, match='at least 2 values'):
        PKDLoss()(torch.zeros(1, 4, 1, 1), torch.zeros(1, 4, 1, 1))


# -------------------------------------------------------------------- ICKDLoss
def test_ickd_matches_reference():
    student, teacher = _rand(2, 4, 3, 3, seed=0), _rand(2, 4, 3, 3, seed=1)
    loss = ICKDLoss(loss_weight=0.5)(student, teacher)
    expected = 0.5 * ickd_reference(student.numpy(), teacher.numpy())
    assert loss.item() == pytest.approx(expected, rel=1e-9)
    # only the C x C correlations count: the teacher may have another spatial size
    teacher = _rand(2, 4, 5, 2, seed=2)
    expected = ickd_reference(student.numpy(), teacher.numpy())
    assert ICKDLoss()(student, teacher).item() == pytest.approx(expected, rel=1e-9)


def test_ickd_hand_worked():
    # N=1, C=2, H*W=2. student channels (1, 0), (0, 1): G = I, rows already unit.
    # teacher channels (1, 0), (1, 0): G = all ones, rows (a, a) with a = 1/sqrt2.
    # each row: (1 - a)^2 + a^2 = 2 - sqrt2; two rows / (N * C = 2) -> 2 - sqrt2 = 0.585786
    student = torch.tensor([[[[1.0, 0.0]], [[0.0, 1.0]]]])
    teacher = torch.tensor([[[[1.0, 0.0]], [[1.0, 0.0]]]])
    assert ICKDLoss()(student, teacher).item() == pytest.approx(0.585786, abs=1e-6)
    # row normalisation: a global scale of the feature changes nothing
    assert ICKDLoss()(3 * student, teacher).item() == pytest.approx(0.585786, abs=1e-6)


def test_ickd_gradients_and_errors():
    _check_gradients(ICKDLoss(), (2, 3, 4, 4), (2, 3, 4, 4))
    student = _rand(2, 3, 4, 4, seed=0)
    assert ICKDLoss()(student, student.clone()).item() == 0.0
    with pytest.raises(ValueError, match=r'\(1, 4, 2, 2\).*\(1, 8, 2, 2\).*connector'):
        ICKDLoss()(torch.zeros(1, 4, 2, 2), torch.zeros(1, 8, 2, 2))
    with pytest.raises(ValueError, match=r'\(N, C, H, W\)'):
        ICKDLoss()(torch.zeros(2, 4), torch.zeros(2, 4))


# --------------------------------------------------------------------- NSTLoss
@pytest.mark.parametrize('kernel', ['poly', 'linear'])
def test_nst_matches_reference(kernel):
    student, teacher = _rand(2, 3, 3, 4, seed=0), _rand(2, 5, 3, 4, seed=1)  # C differ
    loss = NSTLoss(kernel=kernel, loss_weight=2.0)(student, teacher)
    expected = 2.0 * nst_reference(student.numpy(), teacher.numpy(), kernel)
    assert loss.item() == pytest.approx(expected, rel=1e-9)


def test_nst_hand_worked():
    # one channel each, H*W = 2. student (1, 0); teacher (0, 1): k_ss = k_tt = 1,
    # k_st = 0 -> 1 + 1 - 0 = 2. Teacher (1, 1) -> (a, a), a = 1/sqrt2: k_st = a^2 = 0.5
    # for 'poly' ((x.y)^2) -> 1 + 1 - 2 * 0.5 = 1; for 'linear' k_st = a -> 2 - sqrt2.
    student = torch.tensor([[[[1.0, 0.0]]]])
    assert NSTLoss()(student, torch.tensor([[[[0.0, 1.0]]]])).item() == pytest.approx(2.0)
    teacher = torch.tensor([[[[1.0, 1.0]]]])
    assert NSTLoss()(student, teacher).item() == pytest.approx(1.0, abs=1e-6)
    assert NSTLoss('linear')(student, teacher).item() == pytest.approx(2 - math.sqrt(2),
                                                                       abs=1e-6)


def test_nst_gradients_and_errors():
    _check_gradients(NSTLoss(), (2, 3, 4, 4), (2, 6, 4, 4))
    student = _rand(2, 3, 4, 4, seed=0)
    assert NSTLoss()(student, student.clone()).item() == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match=r'\(1, 4, 4, 4\).*\(1, 4, 2, 2\).*ResizeConnector'):
        NSTLoss()(torch.zeros(1, 4, 4, 4), torch.zeros(1, 4, 2, 2))
    with pytest.raises(ValueError, match=r'\(N, C, H, W\)'):
        NSTLoss()(torch.zeros(2, 4), torch.zeros(2, 4))
    with pytest.raises(ValueError, match='kernel'):
        NSTLoss(kernel='gaussian')


# --------------------------------------------------------------------- PKTLoss
def test_pkt_matches_reference():
    student, teacher = _rand(5, 6, seed=0), _rand(5, 9, seed=1)  # D differ
    loss = PKTLoss(loss_weight=3.0)(student, teacher)
    expected = 3.0 * pkt_reference(student.numpy(), teacher.numpy(), 1e-7)
    assert loss.item() == pytest.approx(expected, rel=1e-9)
    # (N, C, H, W) inputs are flattened per sample
    student, teacher = _rand(4, 2, 3, 3, seed=2), _rand(4, 5, 2, 2, seed=3)
    expected = pkt_reference(student.numpy().reshape(4, -1), teacher.numpy().reshape(4, -1),
                             1e-7)
    assert PKTLoss()(student, teacher).item() == pytest.approx(expected, rel=1e-9)


def test_pkt_hand_worked():
    # teacher (1, 0), (0, 1): cosines I -> (cos + 1) / 2 = [[1, .5], [.5, 1]] -> rows (2/3, 1/3)
    # student (1, 0), (1, 0): cosines all 1 -> rows (1/2, 1/2)
    # row KL = 2/3 ln(4/3) + 1/3 ln(2/3) = 0.056633; two rows / N^2 = 4 -> 0.028317
    student = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    teacher = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    assert PKTLoss()(student, teacher).item() == pytest.approx(0.028317, abs=1e-6)


def test_pkt_gradients_and_errors():
    _check_gradients(PKTLoss(), (4, 6), (4, 3))
    student = _rand(4, 6, seed=0)
    assert PKTLoss()(student, student.clone()).item() == 0.0
    # a zero embedding is finite (eps in the norm), as in the reference
    zero = torch.zeros(3, 4, dtype=torch.float64)
    assert math.isfinite(PKTLoss()(zero, _rand(3, 4, seed=1)).item())
    with pytest.raises(ValueError, match=r'\(4, 6\).*\(3, 6\)'):
        PKTLoss()(torch.zeros(4, 6), torch.zeros(3, 6))
    with pytest.raises(ValueError, match='eps'):
        PKTLoss(eps=-1.0)


# -------------------------------------------------------------------- FBKDLoss
def _random_fbkd(**kwargs) -> FBKDLoss:
    torch.manual_seed(0)
    loss_fn = FBKDLoss(in_channels=4, **kwargs).double()
    with torch.no_grad():  # the zero-initialised BN weight would hide the non-local output
        for param in loss_fn.parameters():
            param.normal_(0, 0.5)
    return loss_fn


@pytest.mark.parametrize('sub_sample,pools', [(False, ()), (True, (2, 2))])
def test_fbkd_matches_reference(sub_sample, pools):
    loss_fn = _random_fbkd(reduction=2, sub_sample=sub_sample, maxpool_stride=2,
                           loss_weight=2.0, mask_l2_weight=0.5, channel_weight=0.3,
                           spatial_weight=0.2, nonlocal_weight=0.1)
    student, teacher = _rand(2, 4, 4, 4, seed=0), _rand(2, 4, 4, 4, seed=1)
    loss = loss_fn(student, teacher)
    params = {k: v.detach().numpy() for k, v in loss_fn.named_parameters()}
    expected = 2.0 * fbkd_reference(student.numpy(), teacher.numpy(), params, 0.5,
                                    (0.5, 0.3, 0.2, 0.1), pools)
    assert loss.item() == pytest.approx(expected, rel=1e-9)


def test_fbkd_defaults_start_from_identity_non_local():
    loss_fn = FBKDLoss(in_channels=4)
    assert (loss_fn.mask_l2_weight, loss_fn.channel_weight, loss_fn.spatial_weight,
            loss_fn.nonlocal_weight, loss_fn.spatial_t) == (7e-5, 4e-3, 4e-3, 7e-5, 0.5)
    x = torch.randn(2, 4, 4, 4)
    torch.testing.assert_close(loss_fn.teacher_non_local(x), x)  # BN weight starts at 0


def test_fbkd_gradients_and_errors():
    loss_fn = _random_fbkd(sub_sample=True)
    student = _rand(2, 4, 4, 4, seed=0).requires_grad_(True)
    teacher = _rand(2, 4, 4, 4, seed=1).requires_grad_(True)
    loss = loss_fn(student, teacher)
    assert loss.dim() == 0
    loss.backward()
    assert student.grad is not None and student.grad.abs().sum() > 0
    assert teacher.grad is None
    for name, param in loss_fn.named_parameters():  # teacher_non_local is trained too
        assert param.grad is not None and param.grad.abs().sum() > 0, name
    with pytest.raises(ValueError, match='in_channels'):
        FBKDLoss()
    with pytest.raises(ValueError, match=r'\(1, 4, 4, 4\).*\(1, 4, 2, 2\).*connector'):
        FBKDLoss(4)(torch.zeros(1, 4, 4, 4), torch.zeros(1, 4, 2, 2))
    with pytest.raises(ValueError, match=r'in_channels=8.*\(1, 4, 2, 2\)'):
        FBKDLoss(8)(torch.zeros(1, 4, 2, 2), torch.zeros(1, 4, 2, 2))


# -------------------------------------------------------------------- registry
@pytest.mark.parametrize('cfg,cls', [
    (dict(type='ATLoss', p=2, loss_weight=1000.0), ATLoss),
    (dict(type='MGDLoss', student_channels=4, teacher_channels=8, loss_weight=2.0), MGDLoss),
    (dict(type='PKDLoss', loss_weight=6.0, resize_stu=False), PKDLoss),
    (dict(type='ICKDLoss', loss_weight=2.5), ICKDLoss),
    (dict(type='NSTLoss', kernel='poly', loss_weight=50.0), NSTLoss),
    (dict(type='PKTLoss', loss_weight=30000.0), PKTLoss),
    (dict(type='FBKDLoss', in_channels=8, loss_weight=1.0), FBKDLoss),
])
def test_feature_losses_build_from_config(cfg, cls):
    assert type(build_kd_module(cfg)) is cls
    built = MODELS.build(dict(cfg, type='kd.' + cfg['type']))
    assert type(built) is cls and built.loss_weight == cfg['loss_weight']


# ----------------------------------------------------------------- distillers
@pytest.fixture
def teacher_files(tmp_path):
    """A toy teacher config file and a matching checkpoint."""
    from tests.test_distillers.toy_models import write_toy_teacher
    return write_toy_teacher(tmp_path)[:2]


def _distiller(teacher_files, distill):
    cfg, ckpt = teacher_files
    return SingleTeacherDistiller(
        student=toy_cfg(width=4, out=8), teacher=dict(config=cfg, checkpoint=ckpt),
        distill=distill, probe_shape=(3, 16, 16))


def _pkd_formula(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """Per channel over (N, H, W): (x - mean) / (unbiased std + 1e-6); MSE / 2."""
    def z(f):
        flat = f.transpose(0, 1).reshape(f.shape[1], -1)
        mean = flat.mean(1, keepdim=True)
        std = ((flat - mean) ** 2).sum(1, keepdim=True).div(flat.shape[1] - 1).sqrt()
        return (flat - mean) / (std + 1e-6)
    return ((z(student) - z(teacher)) ** 2).mean() / 2


def test_distiller_pkd_on_neck_sums_levels(teacher_files):
    model = _distiller(teacher_files, dict(fpn=dict(
        student='neck', teacher='neck', loss=dict(type='PKDLoss', loss_weight=6.0))))
    assert len(model.entries['fpn'].losses) == 2
    inputs, samples = toy_batch()
    losses = model.loss(inputs, samples)
    with torch.no_grad():
        t_feats = model.teacher.extract_feat(inputs)
    s_feats = model.student.extract_feat(inputs)
    assert len(s_feats) == 2 and s_feats[0].shape != s_feats[1].shape
    expected = sum(6.0 * _pkd_formula(s, t) for s, t in zip(s_feats, t_feats))
    torch.testing.assert_close(losses['distill.fpn'], expected)
    losses['distill.fpn'].backward()
    assert model.student.neck.lateral[0].weight.grad is not None
    assert all(p.grad is None for p in model.teacher.parameters())


def test_distiller_mgd_generation_is_trained(teacher_files):
    model = _distiller(teacher_files, dict(mgd=dict(
        student='neck', teacher='neck',
        loss=dict(type='MGDLoss', student_channels=8, teacher_channels=8, alpha_mgd=2e-5))))
    gen_params = [p for loss in model.entries['mgd'].losses for p in loss.generation.parameters()]
    assert len(gen_params) == 2 * 4  # one generation block (2 convs) per neck level
    own = {id(p) for p in model.parameters()}
    assert all(id(p) in own for p in gen_params)
    assert any(name.startswith('entries.mgd.losses.0.generation.')
               for name, _ in model.named_parameters())
    assert not own & {id(p) for p in model.teacher.parameters()}

    inputs, samples = toy_batch()
    torch.manual_seed(7)
    losses = model.loss(inputs, samples)
    # same masks again (one torch.rand per level, in level order) -> the same value
    with torch.no_grad():
        t_feats = model.teacher.extract_feat(inputs)
        s_feats = model.student.extract_feat(inputs)
        torch.manual_seed(7)
        expected = 0.
        for loss_fn, s, t in zip(model.entries['mgd'].losses, s_feats, t_feats):
            n, _, h, w = t.shape
            keep = (torch.rand(n, 1, h, w) <= 1 - 0.65).float()
            rebuilt = loss_fn.generation(s * keep)
            expected = expected + 2e-5 * ((rebuilt - t) ** 2).sum() / n
    torch.testing.assert_close(losses['distill.mgd'], expected)
    losses['distill.mgd'].backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in gen_params)


@pytest.fixture
def wide_teacher_files(tmp_path):
    """A toy teacher whose neck has 16 channels (the student's has 8)."""
    cfg = tmp_path / 'wide_teacher.py'
    cfg.write_text("default_scope = 'kd'\n"
                   "model = dict(type='kd.ToyClassifier', width=8, out=16)\n")
    torch.manual_seed(2)
    teacher = MODELS.build(dict(type='kd.ToyClassifier', width=8, out=16))
    ckpt = tmp_path / 'wide_teacher.pth'
    torch.save({'state_dict': teacher.state_dict(), 'meta': {}}, ckpt)
    return str(cfg), str(ckpt)


def test_distiller_accepts_channel_free_losses_without_connector(wide_teacher_files):
    # AT compares attention maps: 8 student vs 16 teacher channels need no connector
    model = _distiller(wide_teacher_files, dict(at=dict(
        student='neck', teacher='neck', loss=dict(type='ATLoss', loss_weight=1000.0))))
    inputs, samples = toy_batch()
    losses = model.loss(inputs, samples)
    with torch.no_grad():
        t_feats = model.teacher.extract_feat(inputs)
    s_feats = model.student.extract_feat(inputs)
    assert s_feats[0].shape[1] == 8 and t_feats[0].shape[1] == 16
    expected = sum(1000.0 * at_reference(s.detach().double().numpy(), t.double().numpy(), 2)
                   for s, t in zip(s_feats, t_feats))
    assert losses['distill.at'].item() == pytest.approx(expected, rel=1e-5)
    # MGD gets its channels from the probe and builds its own 1x1 align conv
    model = _distiller(wide_teacher_files, dict(mgd=dict(
        student='neck', teacher='neck', loss=dict(type='MGDLoss'))))
    mgd = model.entries['mgd'].losses[0]
    assert (mgd.student_channels, mgd.teacher_channels) == (8, 16)
    assert mgd.align is not None and mgd.align.weight.shape == (16, 8, 1, 1)
    model.loss(inputs, samples)['distill.mgd'].backward()
    assert mgd.align.weight.grad is not None


@pytest.mark.parametrize('mode,sub_sample', [('dot_product', False), ('embedded_gaussian', False),
                                             ('dot_product', True), ('gaussian', False)])
def test_fbkd_fused_non_local_equals_the_mmcv_block(mode, sub_sample):
    """kd.losses.feature.fbkd.non_local (g/theta/phi as one stacked product) against
    mmcv's NonLocal2d.forward on a copy of the same block, in train mode: output, the
    gradients of the input and of every parameter, and the BatchNorm running statistics
    (1e-12 in float64; sub-sampled and 'gaussian' blocks run mmcv's forward)."""
    import copy

    from kd.losses.feature.fbkd import _non_local, non_local
    torch.manual_seed(0)
    block = _non_local(16, 2, mode, sub_sample, 2).double().train()
    with torch.no_grad():
        for p in block.parameters():        # the BN weight starts at zero: randomise
            p.copy_(torch.randn_like(p) * 0.5)
    reference = copy.deepcopy(block)
    fused = mode != 'gaussian' and not sub_sample
    if fused:   # the fused path must not call the block's own forward
        def refuse(*args):
            raise AssertionError('non_local fell back to NonLocal2d.forward')
        block.forward = refuse
    x = torch.randn(4, 16, 6, 6, dtype=torch.float64, requires_grad=True)
    g = torch.randn(4, 16, 6, 6, dtype=torch.float64)
    out = non_local(block, x)
    grads = torch.autograd.grad(out, [x] + list(block.parameters()), g)
    ref = reference(x)
    ref_grads = torch.autograd.grad(ref, [x] + list(reference.parameters()), g)
    torch.testing.assert_close(out, ref, rtol=1e-12, atol=1e-12)
    for a, b in zip(grads, ref_grads):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
    for (name, a), (_, b) in zip(block.named_buffers(), reference.named_buffers()):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12, msg=name)
