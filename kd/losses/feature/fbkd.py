"""Feature-based KD for detectors: attention-guided and non-local distillation.

Paper:
    L. Zhang, K. Ma. "Improve Object Detection with Feature-based Knowledge
    Distillation: Towards Accurate and Efficient Detectors". ICLR 2021.

Formula, for student ``s`` and teacher ``t`` features (N, C, H, W) of equal
shape: the spatial attention ``A(f) = H*W * softmax_hw(mean_c |f| / T)`` gives
the mask ``M = (A(s) + A(t)) / 2`` (a constant); with ``||.||`` the L2 norm
over every element of the batch::

    L = loss_weight * ( w_feat     * sqrt(sum M * (t - conv1x1(s))**2)
                      + w_channel  * ||mean_hw(t) - linear(mean_hw(s))||
                      + w_spatial  * ||mean_c(t) - conv3x3(mean_c(s))||
                      + w_nonlocal * ||NL_t(t) - conv1x1(NL_s(s))|| )

``NL_s``, ``NL_t`` are non-local blocks (Wang et al. 2018; MMCV's
``NonLocal2d``: ``x + BN(conv_out(pairwise(x) @ g(x)))`` with the BN weight
zero-initialised), one for each side.

Reference implementation: MMRazor's ``FBKDLoss`` with its
``FBKDStudentConnector`` / ``FBKDTeacherConnector`` (a port of the authors'
ArchipLab-LinfengZhang/Object-Detection-Knowledge-Distillation-ICLR2021):
the same layers, defaults (weights 7e-5, 4e-3, 4e-3, 7e-5, temperature 0.5,
``dot_product`` pairwise function, reduction 2, BN in the non-local output)
and ``torch.dist`` norms. Here the two connectors and the loss are one module,
so every trainable layer lives in the loss (the distiller trains it with the
student). The teacher feature is detached, but the teacher-side non-local
block is trained like MMRazor's teacher connector; it is part of this loss, not
of the teacher. The channel-wise attention mask that MMRazor computes is not
used by its loss and is left out. With ``sub_sample=True`` the keys and values
of both non-local blocks are max-pooled by 2 (MMCV) and then by
``maxpool_stride`` (``'gaussian'`` keys: by ``maxpool_stride`` only), as
MMRazor's ``NonLocal2dMaxpoolNstride`` does (its Faster
R-CNN recipe uses ``sub_sample=True, maxpool_stride=8, 4, 2, 2`` and
``reduction=4, 4, 2, 2`` on the FPN levels P2-P5).

Arguments:
    in_channels: channels of both features (student and teacher must match).
    reduction: channel reduction of the non-local embeddings.
    mode: non-local pairwise function: ``'dot_product'``,
        ``'embedded_gaussian'``, ``'gaussian'`` or ``'concatenation'``.
    sub_sample: max-pool the non-local keys/values (see above).
    maxpool_stride: extra max-pool stride when ``sub_sample``.
    spatial_t: temperature of the spatial attention softmax.
    mask_l2_weight: weight of the attention-masked feature term.
    channel_weight: weight of the channel-pooled term.
    spatial_weight: weight of the spatially pooled term.
    nonlocal_weight: weight of the non-local relation term.
    loss_weight: factor applied to the whole loss.
"""
from __future__ import annotations

import torch
from mmcv.cnn import NonLocal2d
from torch import Tensor, nn

from kd.registry import MODELS


def _non_local(in_channels: int, reduction: int, mode: str, sub_sample: bool,
               maxpool_stride: int) -> NonLocal2d:
    block = NonLocal2d(in_channels, sub_sample=sub_sample, reduction=reduction, mode=mode,
                       norm_cfg=dict(type='BN'), zeros_init=True)
    if sub_sample:
        pool = nn.MaxPool2d(kernel_size=maxpool_stride)
        block.g = nn.Sequential(block.g, pool)
        # as MMRazor: 'gaussian' has no phi conv, its 2x2 pool is replaced by this one
        block.phi = nn.Sequential(block.phi, pool) if mode != 'gaussian' else pool
    return block


def _plain_1x1(module: nn.Module) -> bool:
    """A ConvModule that is one 1x1 convolution (no norm, no activation)."""
    conv = getattr(module, 'conv', None)
    return (isinstance(conv, nn.Conv2d) and conv.kernel_size == (1, 1)
            and conv.stride == (1, 1) and conv.groups == 1 and conv.padding == (0, 0)
            and not getattr(module, 'with_norm', True)
            and not getattr(module, 'with_activation', True))


def non_local(block: NonLocal2d, x: Tensor) -> Tensor:
    """``block(x)`` with its three 1x1 embeddings as one matrix product.

    For the ``dot_product`` and ``embedded_gaussian`` blocks without
    sub-sampling (the FBKD defaults), ``g``, ``theta`` and ``phi`` read the
    same input: their weights are stacked into one ``(3 C', C)`` matrix and
    applied in one product over the ``H*W`` positions, and ``conv_out`` is a
    product too (its norm layer is the block's own module, so the BatchNorm
    statistics update as in ``block(x)``). Other blocks run as they are.
    """
    if (block.mode not in ('dot_product', 'embedded_gaussian') or block.sub_sample
            or not all(_plain_1x1(m) for m in (block.g, block.theta, block.phi))
            or getattr(block.conv_out, 'with_activation', True)
            or getattr(block.conv_out, 'order', None) != ('conv', 'norm', 'act')
            or not isinstance(getattr(block.conv_out, 'conv', None), nn.Conv2d)
            or block.conv_out.conv.kernel_size != (1, 1)):
        return block(x)
    n, c, h, w = x.shape
    k = block.inter_channels
    convs = [block.g.conv, block.theta.conv, block.phi.conv]
    weight = torch.cat([m.weight.reshape(k, c) for m in convs])
    proj = torch.matmul(weight, x.reshape(n, c, h * w))                 # (N, 3C', HW)
    if all(m.bias is not None for m in convs):
        proj = proj + torch.cat([m.bias for m in convs])[:, None]
    elif any(m.bias is not None for m in convs):
        proj = proj + torch.cat([m.bias if m.bias is not None else m.weight.new_zeros(k)
                                 for m in convs])[:, None]
    g_x, theta_x, phi_x = proj.split(k, dim=1)
    pairwise = torch.matmul(theta_x.transpose(1, 2), phi_x)             # (N, HW, HW)
    if block.mode == 'dot_product':
        pairwise = pairwise / pairwise.shape[-1]
    else:
        if block.use_scale:
            pairwise = pairwise / k**0.5
        pairwise = pairwise.softmax(dim=-1)
    y = torch.matmul(g_x, pairwise.transpose(1, 2))                     # (N, C', HW)
    conv = block.conv_out.conv
    out = torch.matmul(conv.weight.reshape(c, k), y)
    if conv.bias is not None:
        out = out + conv.bias[:, None]
    out = out.reshape(n, c, h, w)
    if block.conv_out.with_norm:
        out = block.conv_out.norm(out)
    return x + out


def spatial_attention(feature: Tensor, temperature: float) -> Tensor:
    """``H*W * softmax_hw(mean_c |f| / T)`` as an (N, 1, H, W) mask (mean 1 per sample)."""
    n, _, h, w = feature.shape
    energy = feature.abs().mean(dim=1).flatten(1)
    return (torch.softmax(energy / temperature, dim=1) * (h * w)).view(n, 1, h, w)


@MODELS.register_module()
class FBKDLoss(nn.Module):
    """Attention-masked feature, pooled, and non-local relation imitation (FBKD).

    Args:
        in_channels: channels of the student and teacher features.
        reduction: channel reduction of the non-local embeddings.
        mode: non-local pairwise function.
        sub_sample: max-pool the non-local keys and values.
        maxpool_stride: extra pooling stride when ``sub_sample``.
        spatial_t: temperature of the spatial attention.
        mask_l2_weight: weight of the masked feature term.
        channel_weight: weight of the channel-pooled term.
        spatial_weight: weight of the spatially pooled term.
        nonlocal_weight: weight of the non-local term.
        loss_weight: factor applied to the loss.
    """

    def __init__(self, in_channels: int | None = None, reduction: int = 2,
                 mode: str = 'dot_product', sub_sample: bool = False, maxpool_stride: int = 2,
                 spatial_t: float = 0.5, mask_l2_weight: float = 7e-5,
                 channel_weight: float = 4e-3, spatial_weight: float = 4e-3,
                 nonlocal_weight: float = 7e-5, loss_weight: float = 1.0) -> None:
        super().__init__()
        if in_channels is None:
            raise ValueError("FBKDLoss needs in_channels (the channels of both features) to "
                             "build its adaptation and non-local layers, e.g. "
                             "loss=dict(type='FBKDLoss', in_channels=256).")
        if spatial_t <= 0:
            raise ValueError(f'spatial_t must be positive, got {spatial_t}')
        self.in_channels = in_channels
        self.spatial_t = spatial_t
        self.mask_l2_weight = mask_l2_weight
        self.channel_weight = channel_weight
        self.spatial_weight = spatial_weight
        self.nonlocal_weight = nonlocal_weight
        self.loss_weight = loss_weight
        self.feature_adaptation = nn.Conv2d(in_channels, in_channels, kernel_size=1)
        self.channel_adaptation = nn.Linear(in_channels, in_channels)
        self.spatial_adaptation = nn.Conv2d(1, 1, kernel_size=3, padding=1)
        self.student_non_local = _non_local(in_channels, reduction, mode, sub_sample,
                                            maxpool_stride)
        self.teacher_non_local = _non_local(in_channels, reduction, mode, sub_sample,
                                            maxpool_stride)
        self.non_local_adaptation = nn.Conv2d(in_channels, in_channels, kernel_size=1)

    def forward(self, student: Tensor, teacher: Tensor, **kwargs) -> Tensor:
        """Compute the loss.

        Args:
            student: student feature ``(N, in_channels, H, W)``.
            teacher: teacher feature of the same shape (treated as a constant).
        """
        if student.shape != teacher.shape or student.dim() != 4 \
                or student.shape[1] != self.in_channels:
            raise ValueError(f'FBKDLoss(in_channels={self.in_channels}) needs student and '
                             f'teacher features of the same shape (N, {self.in_channels}, H, '
                             f'W), got student {tuple(student.shape)} and teacher '
                             f'{tuple(teacher.shape)}; add a connector (ConvConnector for '
                             f'channels, ResizeConnector for H, W).')
        teacher = teacher.detach()
        mask = (spatial_attention(student, self.spatial_t)
                + spatial_attention(teacher, self.spatial_t)).detach() / 2
        adapted = self.feature_adaptation(student)
        feat_loss = ((teacher - adapted) ** 2 * mask).sum().sqrt()
        channel_loss = torch.dist(teacher.mean(dim=(2, 3)),
                                  self.channel_adaptation(student.mean(dim=(2, 3))))
        spatial_loss = torch.dist(teacher.mean(dim=1, keepdim=True),
                                  self.spatial_adaptation(student.mean(dim=1, keepdim=True)))
        nonlocal_loss = torch.dist(
            non_local(self.teacher_non_local, teacher),
            self.non_local_adaptation(non_local(self.student_non_local, student)))
        loss = (self.mask_l2_weight * feat_loss + self.channel_weight * channel_loss
                + self.spatial_weight * spatial_loss + self.nonlocal_weight * nonlocal_loss)
        return self.loss_weight * loss

    def extra_repr(self) -> str:
        return (f'in_channels={self.in_channels}, spatial_t={self.spatial_t}, '
                f'weights=({self.mask_l2_weight}, {self.channel_weight}, '
                f'{self.spatial_weight}, {self.nonlocal_weight}), '
                f'loss_weight={self.loss_weight}')
