"""Instance relationship graph distillation (Liu et al., CVPR 2019).

Paper:
    Y. Liu, J. Cao, B. Li, C. Yuan, W. Hu, Y. Li, Y. Duan. "Knowledge
    Distillation via Instance Relationship Graph". CVPR 2019.

Formula, for features ``f^1 .. f^L`` of ``L`` layers (student and teacher,
each flattened per instance; ``E^l_ij = ||f^l_i - f^l_j||**2`` with the
diagonal zero, ``T^l_i = ||f^l_i - f^{l+1}_i||**2`` after aligning the two
layers, each matrix / vector divided by its maximum; ``mse`` the mean
squared error over entries)::

    L_vertex    = mse(f^L_s, f^L_t)                       (last layer: the logits)
    L_edge      = mean_l mse(E^l_s / max E^l_s, E^l_t / max E^l_t)
    L_transform = mean_{l<L-1} mse(T^l_s / max T^l_s, T^l_t / max T^l_t)
    L = loss_weight * (w_vertex * L_vertex + w_edge * L_edge + w_transform * L_transform)

The paper's official code is Caffe; this follows the common PyTorch
reference, the ``IRG`` loss of Knowledge-Distillation-Zoo
(``AberHu/Knowledge-Distillation-Zoo``, ``kd_losses/irg.py``): squared
distances clamped at ``1e-12``, normalised by their maximum, averaged over the
layers; the transformation is the vertex transformation of the paper (how far
each instance moves between two consecutive layers), computed after pooling
the larger spatial map to the smaller size and averaging groups of
consecutive channels of the wider feature (pairs for the usual 2x widening).
The last layer (the logits) has the vertex term and takes no part in the
transformation, which runs between consecutive earlier layers (``L >= 3``).
Knowledge-Distillation-Zoo takes edges on the intermediate layers only and the
vertex term on the logits; here every given layer has an edge term.

Arguments:
    w_vertex: weight of the vertex (last-layer MSE) term.
    w_edge: weight of the edge (distance-matrix) term.
    w_transform: weight of the transformation term (needs >= 3 layers: two
        intermediate ones and the last).
    loss_weight: factor applied to the loss.

Student and teacher: one tensor or equally long lists ``[f^1, ..., f^L]`` of
features ``(N, ...)``. Only the last layer must have the same shape on both
sides (the vertex term). Through :class:`~kd.distillers.SingleTeacherDistiller`
a tuple record is distilled level by level, so each call sees one layer
(vertex + edge); pass the layers as one list in plain PyTorch to use the
transformation term.
"""
from __future__ import annotations

from typing import Sequence, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from kd.registry import MODELS

from ..utils import float_dtype
from .sp import as_feature_lists, check_batch

Features = Union[Tensor, Sequence[Tensor]]
_EPS = 1e-12


class _Gram(torch.autograd.Function):
    """``x @ x.T`` for ``x`` of shape ``(N, D)``, with the backward of a symmetric product.

    Autograd's backward of ``mm(x, x.t())`` multiplies twice (``g @ x`` and
    ``(x.T @ g).T``) and adds the two; since ``x`` is both operands the gradient
    is ``(g + g.T) @ x``: one product of the same size as the forward.
    """

    @staticmethod
    def forward(ctx, x: Tensor) -> Tensor:
        ctx.save_for_backward(x)
        return x @ x.t()

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:
        x, = ctx.saved_tensors
        return (grad + grad.t()) @ x


def gram(flat: Tensor) -> Tensor:
    """``flat @ flat.T`` (``(N, N)``); the symmetric backward when a gradient is needed."""
    return _Gram.apply(flat) if flat.requires_grad else flat @ flat.t()


def edge_matrix(feature: Tensor, eps: float = _EPS) -> Tensor:
    """Squared Euclidean distances ``(N, N)``, zero diagonal, divided by their max.

    ``||f_i - f_j||**2 = G_ii + G_jj - 2 G_ij`` with the Gram matrix ``G = F F^T``:
    the squared norms are its diagonal, so the ``(N, D)`` feature is read by one
    matrix product only (forward and backward).
    """
    flat = feature.reshape(feature.shape[0], -1)
    g = gram(flat)
    square = g.diagonal()
    dist = (square[:, None] + square[None, :] - 2 * g).clamp(min=eps)
    eye = torch.eye(len(flat), dtype=torch.bool, device=flat.device)
    dist = dist.masked_fill(eye, 0)
    return dist / dist.max().clamp(min=eps)


def pool_to(x: Tensor, size: tuple[int, int]) -> Tensor:
    """``adaptive_avg_pool2d(x, size)``; as ``avg_pool2d`` when ``size`` divides ``x``'s.

    Both take the mean of the same ``kh x kw`` blocks when the sizes divide; the
    fixed-window pooling has a much cheaper backward on the CPU.
    """
    h, w = x.shape[-2:]
    if (h, w) == tuple(size):
        return x
    if h % size[0] == 0 and w % size[1] == 0:
        kernel = (h // size[0], w // size[1])
        return F.avg_pool2d(x, kernel, stride=kernel)
    return F.adaptive_avg_pool2d(x, size)


def _align(early: Tensor, late: Tensor) -> tuple[Tensor, Tensor]:
    """Bring two layers of one network to the same (C, H, W) for the transformation."""
    early = early[:, :, None, None] if early.dim() == 2 else early
    late = late[:, :, None, None] if late.dim() == 2 else late
    if early.dim() != 4 or late.dim() != 4:
        raise ValueError(f'IRGLoss transformation expects (N, C, H, W) or (N, C) features, '
                         f'got {tuple(early.shape)} and {tuple(late.shape)}')
    size = (min(early.shape[2], late.shape[2]), min(early.shape[3], late.shape[3]))
    early, late = pool_to(early, size), pool_to(late, size)
    c_early, c_late = early.shape[1], late.shape[1]
    if c_early != c_late:
        small, large = min(c_early, c_late), max(c_early, c_late)
        if large % small:
            raise ValueError(f'IRGLoss transformation: channels {c_early} and {c_late} of '
                             'consecutive layers must divide one another')

        def shrink(x: Tensor) -> Tensor:
            if x.shape[1] == small:
                return x
            n, _, h, w = x.shape
            return x.reshape(n, small, large // small, h, w).mean(dim=2)

        early, late = shrink(early), shrink(late)
    return early, late


def transform_vector(early: Tensor, late: Tensor, eps: float = _EPS) -> Tensor:
    """Per-instance squared distance between two aligned layers ``(N,)``, over its max."""
    early, late = _align(early, late)
    n = early.shape[0]
    dist = (early.reshape(n, -1) - late.reshape(n, -1)).pow(2).sum(dim=1).clamp(min=eps)
    return dist / dist.max()


@MODELS.register_module()
class IRGLoss(nn.Module):
    """Vertex, edge and transformation terms of the instance relationship graph.

    Args:
        w_vertex: weight of the vertex term.
        w_edge: weight of the edge term.
        w_transform: weight of the transformation term.
        loss_weight: factor applied to the loss.
    """

    # Compares relations within each side, so student and teacher records may
    # differ in shape: the distiller skips its same-shape check.
    shape_check = 'none'

    def __init__(self, w_vertex: float = 1.0, w_edge: float = 1.0, w_transform: float = 1.0,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        self.w_vertex = w_vertex
        self.w_edge = w_edge
        self.w_transform = w_transform
        self.loss_weight = loss_weight

    def forward(self, student: Features, teacher: Features, **kwargs) -> Tensor:
        """Compute the loss.

        Args:
            student: a feature ``(N, ...)`` or a list of features, early to late.
            teacher: the same for the teacher (treated as constants).
        """
        s_list, t_list = as_feature_lists('IRGLoss', student, teacher)
        for s, t in zip(s_list, t_list):
            check_batch('IRGLoss', s, t)
        dtype = float_dtype(s_list[-1])
        s_list = [s.to(dtype) for s in s_list]
        t_list = [t.detach().to(dtype) for t in t_list]
        if self.w_vertex and s_list[-1].shape != t_list[-1].shape:
            raise ValueError(f'IRGLoss: the last student layer {tuple(s_list[-1].shape)} and '
                             f'teacher layer {tuple(t_list[-1].shape)} must have the same '
                             'shape (vertex term); use logits, add a connector, or set '
                             'w_vertex=0 and give the vertex term its own entry on the logits.')
        loss = s_list[-1].new_zeros(())
        if self.w_vertex:
            loss = loss + self.w_vertex * F.mse_loss(s_list[-1], t_list[-1])
        if self.w_edge:
            edge = sum(F.mse_loss(edge_matrix(s), edge_matrix(t))
                       for s, t in zip(s_list, t_list)) / len(s_list)
            loss = loss + self.w_edge * edge
        if self.w_transform and len(s_list) > 2:
            pairs = range(len(s_list) - 2)   # between the layers before the last
            transform = sum(
                F.mse_loss(transform_vector(s_list[i], s_list[i + 1]),
                           transform_vector(t_list[i], t_list[i + 1])) for i in pairs
            ) / len(pairs)
            loss = loss + self.w_transform * transform
        return self.loss_weight * loss

    def extra_repr(self) -> str:
        return (f'w_vertex={self.w_vertex}, w_edge={self.w_edge}, '
                f'w_transform={self.w_transform}, loss_weight={self.loss_weight}')
