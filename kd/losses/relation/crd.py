"""Contrastive representation distillation (Tian et al., ICLR 2020).

Paper:
    Y. Tian, D. Krishnan, P. Isola. "Contrastive Representation Distillation".
    ICLR 2020, arXiv:1910.10699.

Formula: embeddings ``v_s = l2norm(W_s f_s)``, ``v_t = l2norm(W_t f_t)``; two
memory banks (one unit vector per training image) hold past student and
teacher embeddings. For sample ``i`` with dataset index ``y_i`` and ``K``
negative indices, ``P(j | v) = exp(m_j . v / T) / Z`` (``Z`` fixed at the first
batch as ``mean(exp(.)) * num_samples``) and, with ``c = K / num_samples``::

    nce(P) = -1/N sum_i [ log(P_i0 / (P_i0 + c + eps)) + sum_{k>=1} log(c / (P_ik + c + eps)) ]
    L = loss_weight * (nce(P(. | v_s) against the teacher bank)
                       + nce(P(. | v_t) against the student bank))

after which rows ``y_i`` of each bank become ``l2norm(m * row + (1 - m) * v)``.

Reference implementation: RepDistiller's ``CRDLoss`` / ``ContrastMemory`` /
``ContrastLoss`` (``HobbitLong/RepDistiller``, ``crd/``): linear embeddings
with L2 normalisation, banks initialised uniformly in ``+-1 / sqrt(feat_dim / 3)``,
``Z`` set once from the first batch, momentum update of the positive rows,
``eps = 1e-7``; defaults ``feat_dim = 128``, ``nce_k = 16384``, ``nce_t = 0.07``,
``nce_m = 0.5``. Negatives: given ``contrast_idx`` (RepDistiller's
``CIFAR100InstanceSample`` draws them from other classes), else drawn
uniformly from the whole bank, as ``ContrastMemory`` does without ``contrast_idx``.

Arguments:
    in_channels: dimension of the flattened student feature (``s_dim``).
    out_channels: dimension of the flattened teacher feature (``t_dim``).
    num_samples: number of training images (rows of each memory bank).
    feat_dim: embedding dimension.
    nce_k: negatives per sample.
    nce_t: temperature of the exponential.
    nce_m: momentum of the memory update.
    eps: the constant in the NCE ratios.
    loss_weight: factor applied to the loss.

Inputs: pooled embeddings ``(N, C)`` (e.g. the classifier's ``head.gap``), and
the dataset index of each image: ``sample_idx`` in each data sample (set by
``PackClsInputs`` from MMEngine datasets) or the ``sample_idx=`` argument;
``contrast_idx`` ``(N, K + 1)`` (positive first) may come the same two ways.
The embeddings and banks are trained / updated with the student; the banks
are buffers and are saved in training checkpoints.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from kd.registry import MODELS

from ..utils import float_dtype
from .sp import check_batch


def _field(sample: Any, key: str) -> Any:
    if isinstance(sample, dict):
        return sample.get(key)
    try:
        return getattr(sample, key) if key in sample else None
    except TypeError:
        return getattr(sample, key, None)


def indices_from_data_samples(data_samples: Sequence[Any], key: str = 'sample_idx'
                              ) -> Tensor | None:
    """Stack ``key`` of every sample (dict or data element) or None if any lacks it."""
    values = [_field(s, key) for s in data_samples]
    if not values or any(v is None for v in values):
        return None
    return torch.stack([torch.as_tensor(v).reshape(-1) for v in values]).long()


@MODELS.register_module()
class CRDLoss(nn.Module):
    """NCE between student and teacher embeddings with two memory banks.

    Args:
        in_channels: student feature dimension.
        out_channels: teacher feature dimension.
        num_samples: training-set size.
        feat_dim: embedding dimension.
        nce_k: negatives per sample.
        nce_t: temperature.
        nce_m: memory momentum.
        eps: NCE constant.
        loss_weight: factor applied to the loss.
    """

    # Maps the student to the teacher's width with its own layers, so student and
    # teacher records may differ in shape: the distiller skips its same-shape check.
    shape_check = 'none'
    # score the whole bank (a matrix product) instead of gathering rows when
    # num_samples <= dense_scores_factor * (nce_k + 1); see _scores
    dense_scores_factor = 8

    def __init__(self, in_channels: int | None = None, out_channels: int | None = None,
                 num_samples: int | None = None, feat_dim: int = 128, nce_k: int = 16384,
                 nce_t: float = 0.07, nce_m: float = 0.5, eps: float = 1e-7,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if in_channels is None or out_channels is None or num_samples is None:
            raise ValueError(
                'CRDLoss needs in_channels (student embedding size), out_channels (teacher '
                f'embedding size) and num_samples (training-set size); got in_channels='
                f'{in_channels}, out_channels={out_channels}, num_samples={num_samples}.')
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.num_samples = num_samples
        self.feat_dim = feat_dim
        self.nce_k = nce_k
        self.nce_t = nce_t
        self.nce_m = nce_m
        self.eps = eps
        self.loss_weight = loss_weight
        self.embed_student = nn.Linear(in_channels, feat_dim)
        self.embed_teacher = nn.Linear(out_channels, feat_dim)
        bound = 1.0 / math.sqrt(feat_dim / 3)
        self.register_buffer('memory_student',
                             torch.rand(num_samples, feat_dim).mul_(2 * bound).sub_(bound))
        self.register_buffer('memory_teacher',
                             torch.rand(num_samples, feat_dim).mul_(2 * bound).sub_(bound))
        # normalising constants, fixed at the first batch (-1: unset)
        self.register_buffer('z_student', torch.tensor(-1.0))
        self.register_buffer('z_teacher', torch.tensor(-1.0))

    def _indices(self, n: int, device, data_samples, sample_idx, contrast_idx):
        if sample_idx is None and data_samples is not None:
            sample_idx = indices_from_data_samples(data_samples, 'sample_idx')
        if sample_idx is None:
            raise ValueError('CRDLoss needs the dataset index of each image: data samples '
                             'with sample_idx (PackClsInputs keeps it) or sample_idx=<(N,)>')
        idx = torch.as_tensor(sample_idx).reshape(-1)
        if idx.numel() != n:
            raise ValueError(f'CRDLoss: {idx.numel()} sample indices for a batch of {n}')
        # range checks run on the given indices (CPU tensors from the data samples)
        # before they move to the device, so a GPU step has no host sync here
        self._check_range('sample_idx', idx)
        idx = idx.to(device=device, dtype=torch.long)
        if contrast_idx is None and data_samples is not None:
            contrast_idx = indices_from_data_samples(data_samples, 'contrast_idx')
        if contrast_idx is None:   # drawn in range: nothing to check
            contrast_idx = torch.randint(0, self.num_samples, (n, self.nce_k + 1),
                                         device=device)
            contrast_idx[:, 0] = idx
        else:
            contrast_idx = torch.as_tensor(contrast_idx)
            self._check_range('contrast_idx', contrast_idx)
        contrast_idx = contrast_idx.to(device=device, dtype=torch.long)
        if contrast_idx.dim() != 2 or contrast_idx.shape[0] != n:
            raise ValueError(f'CRDLoss: contrast_idx must be (N, K + 1) = ({n}, K + 1), got '
                             f'{tuple(contrast_idx.shape)}')
        return idx, contrast_idx

    def _check_range(self, name: str, value: Tensor) -> None:
        if value.numel() and (value.min() < 0 or value.max() >= self.num_samples):
            raise ValueError(f'CRDLoss: {name} must lie in [0, num_samples='
                             f'{self.num_samples}), got {value.min().item()}..'
                             f'{value.max().item()}')

    def _nce(self, probs: Tensor) -> Tensor:
        """The NCE loss of ``(N, K + 1)`` probabilities, positive first."""
        m = probs.shape[1] - 1
        noise = m / self.num_samples
        log_pos = torch.log(probs[:, 0] / (probs[:, 0] + noise + self.eps))
        log_neg = torch.log(noise / (probs[:, 1:] + noise + self.eps))
        return -(log_pos.sum() + log_neg.sum()) / probs.shape[0]

    def _scores(self, memory: Tensor, contrast_idx: Tensor, embed: Tensor,
                z: Tensor) -> Tensor:
        n, k1 = contrast_idx.shape
        if memory.shape[0] <= self.dense_scores_factor * k1:
            # Score every bank row with one (N, D) x (D, num_samples) product, then
            # pick the (N, K + 1) wanted scores. When the bank is not much larger than
            # the number of negatives, this is far cheaper than gathering N * (K + 1)
            # bank rows of D floats (6000 rows vs 4097 negatives on DigitsCls: the
            # gather made CRD's step 2.8x a KD step on the CPU); same dot products.
            # The bank is copied (num_samples x D, smaller than the gather's copy)
            # because autograd keeps it for backward and the update below is in place.
            bank = memory.to(embed, copy=True)
            dots = torch.gather(embed @ bank.t(), 1, contrast_idx)
        else:   # a large bank (ImageNet-sized): gather only the rows in use
            bank = memory[contrast_idx.reshape(-1)].view(n, k1, -1).to(embed)
            dots = torch.einsum('nkd,nd->nk', bank, embed)
        out = torch.exp(dots / self.nce_t)
        # the first batch fixes the normalising constant (z < 0: unset); a where()
        # on the device instead of `if z.item() < 0`, so no step waits for the GPU
        first = (out.detach().mean().double() * self.num_samples).to(z.dtype)
        z.copy_(torch.where(z < 0, first, z))
        return out / z.to(out)

    @torch.no_grad()
    def _update(self, memory: Tensor, idx: Tensor, embed: Tensor) -> None:
        rows = memory[idx] * self.nce_m + embed.detach().to(memory) * (1 - self.nce_m)
        memory.index_copy_(0, idx, F.normalize(rows, p=2, dim=1))

    def forward(self, student: Tensor, teacher: Tensor,
                data_samples: Sequence[Any] | None = None, *,
                sample_idx: Tensor | None = None,
                contrast_idx: Tensor | None = None) -> Tensor:
        """Compute the loss (and update the memory banks in training mode).

        Args:
            student: student embeddings ``(N, in_channels)`` (or ``(N, ...)``
                flattening to it).
            teacher: teacher embeddings ``(N, out_channels)`` (a constant).
            data_samples: samples carrying ``sample_idx`` (and optionally
                ``contrast_idx``).
            sample_idx: dataset indices ``(N,)``.
            contrast_idx: ``(N, K + 1)`` bank indices, positive first.
        """
        check_batch('CRDLoss', student, teacher)
        n = student.shape[0]
        s = student.reshape(n, -1)
        t = teacher.detach().reshape(n, -1)
        if s.shape[1] != self.in_channels or t.shape[1] != self.out_channels:
            raise ValueError(
                f'CRDLoss(in_channels={self.in_channels}, out_channels={self.out_channels}): '
                f'got student {tuple(student.shape)} and teacher {tuple(teacher.shape)}.')
        idx, contrast_idx = self._indices(n, s.device, data_samples, sample_idx,
                                          contrast_idx)
        dtype = float_dtype(s)
        v_s = F.normalize(self.embed_student(s.to(self.embed_student.weight.dtype)).to(dtype),
                          p=2, dim=1)
        v_t = F.normalize(self.embed_teacher(t.to(self.embed_teacher.weight.dtype)).to(dtype),
                          p=2, dim=1)
        p_s = self._scores(self.memory_teacher, contrast_idx, v_s, self.z_student)
        p_t = self._scores(self.memory_student, contrast_idx, v_t, self.z_teacher)
        loss = self._nce(p_s) + self._nce(p_t)
        if self.training:
            self._update(self.memory_student, idx, v_s)
            self._update(self.memory_teacher, idx, v_t)
        return self.loss_weight * loss

    def extra_repr(self) -> str:
        return (f'in_channels={self.in_channels}, out_channels={self.out_channels}, '
                f'num_samples={self.num_samples}, feat_dim={self.feat_dim}, '
                f'nce_k={self.nce_k}, nce_t={self.nce_t}, nce_m={self.nce_m}, '
                f'loss_weight={self.loss_weight}')
