"""Focal and Global Distillation for object detectors (FGD, Yang et al., CVPR 2022).

Paper:
    Z. Yang, Z. Li, X. Jiang, Y. Gong, Z. Yuan, D. Zhao, C. Yuan. "Focal and
    Global Knowledge Distillation for Detectors". CVPR 2022, arXiv:2111.11837.

One FPN level at a time (keep the distill entry level-wise, the default), with
student ``S`` and teacher ``T`` features ``(N, C, H, W)`` (the student first
passes a 1x1 ``align`` conv when its channel count differs):

* **Masks from the ground truth.** Each box ``(x1, y1, x2, y2)`` of image ``i``
  is scaled to the feature map, ``x * W / img_w``, ``y * H / img_h`` (``img_h,
  img_w = metainfo['img_shape']``) and covers the cells
  ``floor(y1) <= h <= ceil(y2)``, ``floor(x1) <= w <= ceil(x2)`` (both ends
  included, clipped to the map). Its weight is ``1 / (number of cells it
  covers, before clipping)``; ``M_fg`` takes the largest weight of the boxes
  covering a cell (0 elsewhere). ``M_bg = [M_fg == 0] / sum [M_fg == 0]`` per
  image (left at 0 when every cell is foreground).
* **Attention** of a feature ``F`` with temperature ``tau``::

      A_S(F) = H W softmax_hw(mean_c |F| / tau),   A_C(F) = C softmax_c(mean_hw |F| / tau)

* **Loss**::

      L_fg   = 1/N sum_{n,c,h,w} M_fg A_S(T) A_C(T) (S - T)^2
      L_bg   = 1/N sum_{n,c,h,w} M_bg A_S(T) A_C(T) (S - T)^2
      L_at   = 1/N ( sum |A_C(S) - A_C(T)| + sum |A_S(S) - A_S(T)| )
      L_glob = 1/N sum (GC_s(S) - GC_t(T))^2
      L = loss_weight (alpha L_fg + beta L_bg + gamma L_at + lambda L_glob)

  ``GC(F) = F + W2 ReLU(LN(W1 context(F)))`` is a GcBlock (Cao et al. 2019):
  ``context(F) = sum_hw softmax_hw(conv1x1_{C->1}(F)) F``, ``W1: C -> C/2``,
  ``W2: C/2 -> C`` (1x1 convs), one block for the student (``student_gc``)
  and one for the teacher (``teacher_gc``), both trained with the student. The
  teacher feature itself is detached: no gradient reaches the teacher.

Reference implementation: ``FeatureLoss`` of yzd-v/FGD
(``mmdet/distillation/losses/fgd.py``, the authors' mmdet 2.x code, after its
fix that indexes the mask as ``[h, w]``): the same masks (scaled with
``img_shape``, ``floor``/``ceil``, inclusive ends, ``max`` over boxes), the
``sqrt``-weighted ``MSELoss(reduction='sum') / N`` terms (written here as the
equal weighted sum of squares), the attention loss, the GcBlock layers and
their initialisation (``conv_mask`` Kaiming-normal fan-in with zero bias, the
last conv of ``channel_add`` zero, the rest PyTorch's default, so the two
blocks start as identities) and the optional 1x1 ``align`` conv of the
student.

The reference builds ``M_fg`` with a Python loop over images and boxes. Here
all boxes of the batch are painted at once (``mask_impl``):

* ``'rows'`` (default): every ``(box, row)`` span is split into two
  power-of-two blocks whose weights one ``scatter_reduce(amax)`` writes into a
  ``(log2 W + 1, N, H, W)`` table, then ``log2 W`` pushes reduce the table to
  the mask (a reverse sparse table; see ``_paint_rows``). Time and memory grow
  with ``N H W log W`` plus the summed box heights, not with ``N B H W``.
* ``'dense'``: boxes padded to ``(N, B)`` and a ``(N, B, H, W)`` membership
  tensor reduced with ``amax`` over boxes: simplest, but ``N B H W`` memory.

Both equal the per-box loop exactly (tested against a transcription of it).

Where this differs from the reference:

* Computed in float32 at least (fp16 features are promoted), masks in float32.
* The alignment is this loss's own ``align`` conv, as in the reference (no kd
  connector is needed; with a ``ConvConnector`` in the entry the channels
  already match and ``align`` is not built).
* A box with a negative coordinate is clipped to the map; the reference's
  Python slicing would wrap a negative start index (ground-truth boxes of
  MMDetection's pipelines are clipped to the image, so this does not occur in
  training).
* ``box_scale_shape='batch_input_shape'`` (or ``'pad_shape'``) scales boxes by
  the padded input size instead, which is where the FPN cells really lie when
  images are padded; the default ``'img_shape'`` is the reference's choice and
  the one the published numbers were obtained with.

Hyper-parameters of the authors' released configs (yzd-v/FGD
``configs/distillers/fgd/``), per detector family::

    detector family                         alpha    beta     gamma    lambda   tau
    one-stage anchor-based (RetinaNet, GFL,
      SOLO)                                 1e-3     5e-4     5e-4     5e-6     0.5
    one-stage anchor-free (RepPoints)       1.6e-3   8e-4     8e-4     8e-6     0.5
    one-stage anchor-free (FCOS)            1.6e-3   8e-4     8e-4     8e-6     0.8
    two-stage (Faster / Mask R-CNN, any
      teacher)                              5e-5     2.5e-5   5e-5     5e-7     0.5

(also ``FGD_HYPER_PARAMETERS`` in this module). The defaults here are the
RetinaNet row (the reference class's own default ``gamma_fgd=1e-3`` is
overridden by every released config). The authors distil every FPN output
they hook (``neck.fpn_convs.*``: P3-P7 for one-stage detectors, P2-P5 for
two-stage ones, i.e. not the max-pooled P6) with one loss module per level,
which is what a level-wise distill entry builds (``levels=[0, 1, 2, 3]`` for
the two-stage neck).

Mask building time, CPU, 1 thread, 8 images of 800 x 1216 with random boxes
of 8-400 px, median of 9 runs, measured while other trainings loaded the two
cores (load average 6-7, so read the ratios more than the milliseconds)::

    OMP_NUM_THREADS=1 python tools/analysis_tools/bench_fgd_masks.py --repeats 9 [--feat 25 38]

    feature map     boxes/image   per-box loop   dense     rows (default)
    100 x 152 (P3)  30              8.3 ms        19.0 ms    1.7 ms
    100 x 152 (P3)  1000          212.4 ms      1537 ms     13.7 ms
    25 x 38 (P5)    30              7.9 ms         1.4 ms    0.4 ms
    25 x 38 (P5)    1000          209.1 ms       107.6 ms    2.3 ms

Arguments:
    student_channels: channels of the student feature (filled by the
        distiller's probe).
    teacher_channels: channels of the teacher feature (filled by the probe).
    temp: temperature ``tau`` of the spatial and channel attention.
    alpha_fgd: weight of the foreground feature loss.
    beta_fgd: weight of the background feature loss.
    gamma_fgd: weight of the attention loss.
    lambda_fgd: weight of the global (GcBlock relation) loss.
    loss_weight: factor applied to the whole loss.
    box_scale_shape: metainfo key whose ``(h, w)`` maps box coordinates to the
        feature map: ``'img_shape'`` (reference), ``'batch_input_shape'`` or
        ``'pad_shape'``.
    mask_impl: ``'rows'`` (default) or ``'dense'`` (see above).
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from kd.registry import MODELS

__all__ = ['FGDLoss', 'fgd_masks', 'fgd_attention', 'FGD_HYPER_PARAMETERS']

# the authors' released configs, per detector family (see the module docstring)
FGD_HYPER_PARAMETERS: dict[str, dict] = {
    'retinanet': dict(alpha_fgd=1e-3, beta_fgd=5e-4, gamma_fgd=5e-4, lambda_fgd=5e-6, temp=0.5),
    'gfl': dict(alpha_fgd=1e-3, beta_fgd=5e-4, gamma_fgd=5e-4, lambda_fgd=5e-6, temp=0.5),
    'solo': dict(alpha_fgd=1e-3, beta_fgd=5e-4, gamma_fgd=5e-4, lambda_fgd=5e-6, temp=0.5),
    'reppoints': dict(alpha_fgd=1.6e-3, beta_fgd=8e-4, gamma_fgd=8e-4, lambda_fgd=8e-6,
                      temp=0.5),
    'fcos': dict(alpha_fgd=1.6e-3, beta_fgd=8e-4, gamma_fgd=8e-4, lambda_fgd=8e-6, temp=0.8),
    'faster_rcnn': dict(alpha_fgd=5e-5, beta_fgd=2.5e-5, gamma_fgd=5e-5, lambda_fgd=5e-7,
                        temp=0.5),
    'mask_rcnn': dict(alpha_fgd=5e-5, beta_fgd=2.5e-5, gamma_fgd=5e-5, lambda_fgd=5e-7,
                      temp=0.5),
}

_SHAPE_KEYS = ('img_shape', 'batch_input_shape', 'pad_shape')


# ----------------------------------------------------------------------- masks
def _scaled_box_cells(boxes: Tensor, img_hw: Tensor, feat_hw: tuple[int, int]):
    """Cell ranges ``(hmin, hmax, wmin, wmax)`` (inclusive, unclipped) and weights.

    ``boxes`` (M, 4) and ``img_hw`` (M, 2) hold every box of the batch and the
    ``(h, w)`` of its image. The arithmetic follows the reference operation by
    operation (``x / img_w * W`` in the boxes' dtype, then ``floor``/``ceil``),
    so the integer cell indices are the same bit for bit.
    """
    h, w = feat_hw
    img_h = img_hw[:, 0].to(boxes.dtype)
    img_w = img_hw[:, 1].to(boxes.dtype)
    wmin = torch.floor(boxes[:, 0] / img_w * w).long()
    wmax = torch.ceil(boxes[:, 2] / img_w * w).long()
    hmin = torch.floor(boxes[:, 1] / img_h * h).long()
    hmax = torch.ceil(boxes[:, 3] / img_h * h).long()
    # 1 / cells covered before clipping; a float32 division of integers as in the reference
    weight = 1.0 / (hmax + 1 - hmin) / (wmax + 1 - wmin)
    return hmin, hmax, wmin, wmax, weight.float()


def _flatten_boxes(boxes: Sequence[Tensor], img_shapes: Sequence[Sequence[int]],
                   device: torch.device) -> tuple[Tensor, Tensor, Tensor, list[int]]:
    counts = [int(b.shape[0]) for b in boxes]
    dtype = torch.float32
    for b in boxes:
        dtype = torch.promote_types(dtype, b.dtype)
    flat = torch.cat([b.reshape(-1, 4).to(device=device, dtype=dtype) for b in boxes]) \
        if boxes else torch.zeros(0, 4, device=device, dtype=dtype)
    image = torch.repeat_interleave(torch.arange(len(boxes), device=device),
                                    torch.tensor(counts, device=device, dtype=torch.long))
    shapes = torch.tensor([[int(s[0]), int(s[1])] for s in img_shapes], device=device,
                          dtype=torch.long).reshape(-1, 2)
    return flat, image, shapes[image], counts


def _background(fg: Tensor) -> Tensor:
    bg = (fg == 0).to(fg.dtype)
    # the sum is a count: dividing by max(sum, 1) leaves an all-zero mask at zero
    return bg / bg.sum(dim=(1, 2), keepdim=True).clamp(min=1)


def fgd_masks(boxes: Sequence[Tensor], img_shapes: Sequence[Sequence[int]],
              feat_hw: tuple[int, int], impl: str = 'rows',
              device: torch.device | None = None) -> tuple[Tensor, Tensor]:
    """FGD's foreground and background masks, vectorised over images and boxes.

    Args:
        boxes: per image, a ``(B_i, 4)`` tensor of ``(x1, y1, x2, y2)`` in the
            coordinates of ``img_shapes`` (``B_i`` may be 0).
        img_shapes: per image, ``(h, w)`` of the frame the boxes live in.
        feat_hw: ``(H, W)`` of the feature map.
        impl: ``'rows'`` or ``'dense'`` (same result; see the module doc).
        device: where to build the masks (default: the boxes' device).

    Returns:
        ``(fg, bg)``, each ``(N, H, W)`` float32.
    """
    if len(boxes) != len(img_shapes):
        raise ValueError(f'fgd_masks: {len(boxes)} box tensors for {len(img_shapes)} image '
                         'shapes')
    for i, b in enumerate(boxes):
        if b.numel() and (b.dim() != 2 or b.shape[-1] != 4):
            raise ValueError(f'fgd_masks: image {i} boxes have shape {tuple(b.shape)}; '
                             'expected (num_boxes, 4) as (x1, y1, x2, y2)')
    if device is None:
        device = boxes[0].device if len(boxes) else torch.device('cpu')
    n = len(boxes)
    h, w = int(feat_hw[0]), int(feat_hw[1])
    flat, image, hw, counts = _flatten_boxes(boxes, img_shapes, device)
    hmin, hmax, wmin, wmax, weight = _scaled_box_cells(flat, hw, (h, w))
    if impl == 'rows':
        fg = _paint_rows(n, h, w, image, hmin, hmax, wmin, wmax, weight)
    elif impl == 'dense':
        fg = _paint_dense(n, h, w, image, counts, hmin, hmax, wmin, wmax, weight)
    else:
        raise ValueError(f"fgd_masks: impl must be 'rows' or 'dense', got {impl!r}")
    return fg, _background(fg)


def _paint_rows(n, h, w, image, hmin, hmax, wmin, wmax, weight) -> Tensor:
    """Paint the row spans of every box with a reverse sparse table (max per cell).

    A box covers rows ``top..bottom`` and, on each, the columns ``c0..c1`` of
    length ``L``. That span is the union of two (overlapping) blocks of length
    ``2^k``, ``k = floor(log2 L)``, starting at ``c0`` and ``c1 - 2^k + 1``; their
    weight goes to level ``k`` of a ``(K, N, H, W)`` table with one
    ``scatter_reduce(amax)`` for all ``(box, row)`` pairs of the batch. Then each
    level is pushed down (a block of ``2^a`` at ``i`` is the blocks of
    ``2^(a-1)`` at ``i`` and ``i + 2^(a-1)``); ``max`` is idempotent, so the
    overlaps change nothing, and level 0 is the mask. Cost:
    ``O(N H W log W + sum of box heights)``, whatever the number of boxes.
    """
    device = weight.device
    top, left = hmin.clamp(min=0), wmin.clamp(min=0)
    right = wmax.clamp(max=w - 1)
    cols = (right - left + 1).clamp(min=0)
    rows = (hmax.clamp(max=h - 1) - top + 1).clamp(min=0)
    rows = torch.where(cols > 0, rows, torch.zeros_like(rows))      # empty boxes: no spans
    levels = w.bit_length()                                          # k = 0..floor(log2 W)
    log2 = torch.tensor([0] + [i.bit_length() - 1 for i in range(1, w + 1)], device=device)
    box = torch.repeat_interleave(torch.arange(rows.numel(), device=device), rows)
    first = torch.cumsum(rows, 0) - rows                             # first span of each box
    row = top[box] + torch.arange(box.numel(), device=device) - first[box]
    k = log2[cols[box]]
    line = ((k * n + image[box]) * h + row) * w                      # level k, image, row
    index = torch.cat([line + left[box], line + right[box] - (1 << k) + 1])
    table = torch.zeros(levels * n * h * w, device=device, dtype=torch.float32)
    table.scatter_reduce_(0, index, weight[box].repeat(2), reduce='amax', include_self=True)
    table = table.view(levels, n, h, w)
    for a in range(levels - 1, 0, -1):
        shift = 1 << (a - 1)
        lower = table[a - 1]
        torch.maximum(lower, table[a], out=lower)
        torch.maximum(lower[..., shift:], table[a][..., :w - shift], out=lower[..., shift:])
    return table[0].clone()


def _paint_dense(n, h, w, image, counts, hmin, hmax, wmin, wmax, weight) -> Tensor:
    """Pad to (N, B, ...) and reduce a (N, B, H, W) membership tensor with amax over B."""
    device = weight.device
    b = max(counts, default=0)
    if b == 0:
        return torch.zeros(n, h, w, device=device)
    counts_t = torch.tensor(counts, device=device)
    slot = torch.arange(image.numel(), device=device) - (torch.cumsum(counts_t, 0)
                                                          - counts_t)[image]

    def pad(values, fill):
        out = torch.full((n, b), fill, device=device, dtype=values.dtype)
        out[image, slot] = values
        return out

    hmin, hmax, wmin, wmax = pad(hmin, 0), pad(hmax, -1), pad(wmin, 0), pad(wmax, -1)
    weight = pad(weight, 0.0)                              # padded slots cover nothing
    ys = torch.arange(h, device=device)
    xs = torch.arange(w, device=device)
    in_h = (ys >= hmin[..., None]) & (ys <= hmax[..., None])          # (N, B, H)
    in_w = (xs >= wmin[..., None]) & (xs <= wmax[..., None])          # (N, B, W)
    inside = in_h[..., :, None] & in_w[..., None, :]                  # (N, B, H, W)
    return (inside * weight[..., None, None]).amax(dim=1)


# ------------------------------------------------------------------- attention
def fgd_attention(feature: Tensor, temp: float) -> tuple[Tensor, Tensor]:
    """FGD's attention of a feature (N, C, H, W) with temperature ``temp``.

    Returns ``(spatial, channel)``: ``H W softmax_hw(mean_c |F| / T)`` of shape
    (N, H, W) and ``C softmax_c(mean_hw |F| / T)`` of shape (N, C).
    """
    n, c, h, w = feature.shape
    value = feature.abs()
    spatial = h * w * F.softmax(value.mean(dim=1).reshape(n, -1) / temp, dim=1)
    channel = c * F.softmax(value.mean(dim=(2, 3)) / temp, dim=1)
    return spatial.view(n, h, w), channel


class GlobalContextBlock(nn.Module):
    """GcBlock of FGD's global loss: ``x + W2 ReLU(LN(W1 context(x)))`` (identity at init)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv_mask = nn.Conv2d(channels, 1, kernel_size=1)
        self.channel_add = nn.Sequential(
            nn.Conv2d(channels, channels // 2, kernel_size=1),
            nn.LayerNorm([channels // 2, 1, 1]),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels // 2, channels, kernel_size=1))
        nn.init.kaiming_normal_(self.conv_mask.weight, mode='fan_in', nonlinearity='relu')
        nn.init.zeros_(self.conv_mask.bias)
        nn.init.zeros_(self.channel_add[-1].weight)
        nn.init.zeros_(self.channel_add[-1].bias)

    def forward(self, x: Tensor) -> Tensor:
        """The block's layers as matrix products on the same parameters.

        ``conv_mask`` (C -> 1) is a vector-matrix product over the ``H*W``
        positions and the ``channel_add`` convolutions act on a 1x1 context,
        i.e. they are linear layers; run as such they skip the convolution
        primitive's set-up, which on the CPU costs more than their arithmetic.
        :meth:`forward_modules` is the same block through the modules.
        """
        n, c, h, w = x.shape
        flat = x.reshape(n, c, h * w)
        mask = self.conv_mask
        logits = torch.matmul(mask.weight.reshape(1, c), flat) + mask.bias.reshape(1, 1, 1)
        attn = F.softmax(logits, dim=2)                                    # (N, 1, HW)
        context = torch.bmm(flat, attn.transpose(1, 2)).reshape(n, c)      # (N, C)
        conv1, norm, _, conv2 = self.channel_add
        y = F.linear(context, conv1.weight.reshape(conv1.out_channels, c), conv1.bias)
        y = F.layer_norm(y, (conv1.out_channels, ), norm.weight.reshape(-1),
                         norm.bias.reshape(-1), norm.eps).relu()
        y = F.linear(y, conv2.weight.reshape(c, conv1.out_channels), conv2.bias)
        return x + y.reshape(n, c, 1, 1)

    def forward_modules(self, x: Tensor) -> Tensor:
        """The reference formulation: ``conv_mask`` and ``channel_add`` as modules."""
        n, c, h, w = x.shape
        attn = F.softmax(self.conv_mask(x).reshape(n, 1, h * w), dim=2)     # (N, 1, HW)
        context = torch.bmm(x.reshape(n, c, h * w), attn.transpose(1, 2))   # (N, C, 1)
        return x + self.channel_add(context.reshape(n, c, 1, 1))


# ------------------------------------------------------------------------ loss
@MODELS.register_module()
class FGDLoss(nn.Module):
    """Focal (foreground/background, attention) and global (GcBlock) distillation.

    Args:
        student_channels: channels of the student feature.
        teacher_channels: channels of the teacher feature.
        temp: attention temperature.
        alpha_fgd: foreground feature weight.
        beta_fgd: background feature weight.
        gamma_fgd: attention loss weight.
        lambda_fgd: global loss weight.
        loss_weight: factor applied to the loss.
        box_scale_shape: metainfo key giving the frame of the boxes.
        mask_impl: ``'rows'`` or ``'dense'``.

    Attributes:
        last_terms: the four weighted terms of the last call (``fg``, ``bg``,
            ``mask``, ``glob``; detached, ``loss_weight`` applied), for tuning.
    """

    # Channels may differ (own align conv, checked in forward): the distiller skips its
    # same-shape check.
    shape_check = 'none'

    def __init__(self, student_channels: int | None = None,
                 teacher_channels: int | None = None, temp: float = 0.5,
                 alpha_fgd: float = 1e-3, beta_fgd: float = 5e-4, gamma_fgd: float = 5e-4,
                 lambda_fgd: float = 5e-6, loss_weight: float = 1.0,
                 box_scale_shape: str = 'img_shape', mask_impl: str = 'rows') -> None:
        super().__init__()
        if student_channels is None or teacher_channels is None:
            raise ValueError(
                f'FGDLoss needs the channel counts of both features to build its align '
                f'conv and GcBlocks, got student_channels={student_channels}, '
                f'teacher_channels={teacher_channels}; inside a distiller they are filled '
                f"from the probe, otherwise set them: loss=dict(type='FGDLoss', "
                f'student_channels=256, teacher_channels=256).')
        if int(teacher_channels) < 2:
            raise ValueError(f'FGDLoss: teacher_channels must be >= 2 (the GcBlock halves '
                             f'them), got {teacher_channels}')
        if temp <= 0:
            raise ValueError(f'FGDLoss: temp must be positive, got {temp}')
        if box_scale_shape not in _SHAPE_KEYS:
            raise ValueError(f'FGDLoss: box_scale_shape must be one of {_SHAPE_KEYS}, got '
                             f'{box_scale_shape!r}')
        if mask_impl not in ('rows', 'dense'):
            raise ValueError(f"FGDLoss: mask_impl must be 'rows' or 'dense', got "
                             f'{mask_impl!r}')
        self.student_channels = int(student_channels)
        self.teacher_channels = int(teacher_channels)
        self.temp = temp
        self.alpha_fgd = alpha_fgd
        self.beta_fgd = beta_fgd
        self.gamma_fgd = gamma_fgd
        self.lambda_fgd = lambda_fgd
        self.loss_weight = loss_weight
        self.box_scale_shape = box_scale_shape
        self.mask_impl = mask_impl
        t = self.teacher_channels
        self.align = (nn.Conv2d(self.student_channels, t, kernel_size=1)
                      if self.student_channels != t else None)
        self.student_gc = GlobalContextBlock(t)
        self.teacher_gc = GlobalContextBlock(t)
        self.last_terms: dict[str, Tensor] = {}

    # -------------------------------------------------------------- inputs
    def boxes_from_data_samples(self, data_samples, n: int):
        """Per image ``(B_i, 4)`` gt boxes and the ``(h, w)`` they are relative to."""
        if data_samples is None:
            raise ValueError(
                'FGDLoss needs data_samples (the batch\'s DetDataSample list with '
                'gt_instances.bboxes and metainfo img_shape) to build its foreground mask. '
                'SingleTeacherDistiller passes them automatically; when calling the loss '
                'yourself use loss(student, teacher, data_samples=batch_data_samples).')
        if len(data_samples) != n:
            raise ValueError(f'FGDLoss: {len(data_samples)} data_samples for a batch of {n} '
                             'features; pass the data samples of this batch')
        boxes, shapes = [], []
        for i, sample in enumerate(data_samples):
            gt = getattr(sample, 'gt_instances', None)
            if gt is None or not hasattr(gt, 'bboxes'):
                raise ValueError(f'FGDLoss: data_samples[{i}] has no gt_instances.bboxes '
                                 '(the ground-truth boxes of a training batch)')
            bboxes = gt.bboxes
            bboxes = getattr(bboxes, 'tensor', bboxes)    # mmdet HorizontalBoxes
            meta = getattr(sample, 'metainfo', {})
            if self.box_scale_shape not in meta:
                raise ValueError(f'FGDLoss: data_samples[{i}].metainfo has no '
                                 f'{self.box_scale_shape!r} (keys: {sorted(meta)}); it gives '
                                 'the frame of the boxes (box_scale_shape)')
            boxes.append(torch.as_tensor(bboxes))
            shapes.append(tuple(meta[self.box_scale_shape])[:2])
        return boxes, shapes

    # -------------------------------------------------------------- forward
    def forward(self, student: Tensor, teacher: Tensor, data_samples=None) -> Tensor:
        """Compute the loss of one level.

        Args:
            student: student feature ``(N, student_channels, H, W)``.
            teacher: teacher feature ``(N, teacher_channels, H, W)`` (a constant).
            data_samples: the batch's ``DetDataSample`` list (ground-truth boxes
                in the frame of ``metainfo[box_scale_shape]``).
        """
        if not isinstance(student, Tensor) or not isinstance(teacher, Tensor):
            raise ValueError('FGDLoss works on one feature level at a time; keep the distill '
                             'entry level-wise (the default, not levelwise=False) so it '
                             'is called per FPN level with one loss module per level.')
        if student.dim() != 4 or teacher.dim() != 4:
            raise ValueError(f'FGDLoss expects (N, C, H, W) features, got student '
                             f'{tuple(student.shape)} and teacher {tuple(teacher.shape)}')
        if student.shape[1] != self.student_channels or \
                teacher.shape[1] != self.teacher_channels:
            raise ValueError(
                f'FGDLoss was built for student_channels={self.student_channels}, '
                f'teacher_channels={self.teacher_channels} but got student '
                f'{tuple(student.shape)} and teacher {tuple(teacher.shape)}; set the '
                f'channel arguments to the features (dim 1) that reach the loss.')
        if student.shape[0] != teacher.shape[0] or student.shape[2:] != teacher.shape[2:]:
            raise ValueError(f'FGDLoss: student {tuple(student.shape)} and teacher '
                             f'{tuple(teacher.shape)} must have the same batch size and '
                             f'spatial size; add a ResizeConnector to match H, W.')
        n, _, h, w = teacher.shape
        boxes, shapes = self.boxes_from_data_samples(data_samples, n)

        if self.align is not None:
            student = self.align(student)
        dtype = torch.promote_types(student.dtype, torch.float32)  # fp16 -> fp32
        s = student.to(dtype)
        t = teacher.detach().to(dtype)

        fg, bg = fgd_masks(boxes, shapes, (h, w), impl=self.mask_impl, device=t.device)
        fg, bg = fg.to(dtype), bg.to(dtype)
        with torch.no_grad():
            spatial_t, channel_t = fgd_attention(t, self.temp)
        spatial_s, channel_s = fgd_attention(s, self.temp)

        sq = (s - t).pow(2) * channel_t[:, :, None, None]          # (N, C, H, W)
        fg_loss = (sq * (spatial_t * fg)[:, None]).sum() / n
        bg_loss = (sq * (spatial_t * bg)[:, None]).sum() / n
        mask_loss = ((channel_s - channel_t).abs().sum()
                     + (spatial_s - spatial_t).abs().sum()) / n
        global_loss = (self.student_gc(s) - self.teacher_gc(t)).pow(2).sum() / n

        terms = dict(fg=self.alpha_fgd * fg_loss, bg=self.beta_fgd * bg_loss,
                     mask=self.gamma_fgd * mask_loss, glob=self.lambda_fgd * global_loss)
        self.last_terms = {k: v.detach() * self.loss_weight for k, v in terms.items()}
        return self.loss_weight * (terms['fg'] + terms['bg'] + terms['mask'] + terms['glob'])

    def extra_repr(self) -> str:
        return (f'student_channels={self.student_channels}, '
                f'teacher_channels={self.teacher_channels}, temp={self.temp}, '
                f'alpha_fgd={self.alpha_fgd}, beta_fgd={self.beta_fgd}, '
                f'gamma_fgd={self.gamma_fgd}, lambda_fgd={self.lambda_fgd}, '
                f'loss_weight={self.loss_weight}, box_scale_shape={self.box_scale_shape!r}')
