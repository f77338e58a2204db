"""Localization Distillation (LD) for GFL-style heads that predict box-edge distributions.

Paper: Z. Zheng, R. Ye, P. Wang, D. Ren, W. Zuo, Q. Hou, M.-M. Cheng.
"Localization Distillation for Dense Object Detection". CVPR 2022
(arXiv:2102.12252). Reference code: HikariTJU/LD (``LDHead`` and the ATSS
assigner's ``get_vlr_region``); MMDetection 3.x ships the main-region part as
``LDHead`` + ``KnowledgeDistillationKLDivLoss``.

A GFL head (``GFLHead``, ``LDHead``) regresses each of the four edge distances
of a box as a discrete distribution over ``n + 1 = reg_max + 1`` bins: its
``bbox_preds`` have ``4·(n+1)`` channels per anchor. LD softens the teacher's
and the student's per-edge distributions with a temperature ``τ`` and matches
them with a KL divergence, as classification KD does with class logits::

    p_t = softmax(t_e / τ),  p_s = softmax(s_e / τ)          (one edge e, n+1 bins)
    KL̄(a) = (1/4) Σ_e  τ² · KL(p_t ‖ p_s) / (n + 1)          (anchor a)

(the division by ``n+1`` is the ``.mean(1)`` of the reference's and
MMDetection's ``KnowledgeDistillationKLDivLoss``.)

The KL is applied on two regions, both determined from the ground-truth boxes
and the anchors alone (no prediction enters the assignment, so it is the same
for teacher and student and is computed here, in the loss, from
``data_samples``):

* **main distillation region** = the ATSS positives: for every gt box, the
  ``topk`` anchors per level whose centres are closest to the gt centre are
  candidates; the threshold is ``t_g = mean + std`` of the candidates' IoUs;
  candidates with IoU ≥ t_g and centre inside the gt box are positive (an
  anchor positive for several gts goes to the one with the highest IoU). This
  is MMDetection's ``ATSSAssigner`` (the assigner of GFL and of the paper),
  re-implemented here (the tests compare it with MMDetection's).
* **valuable localization region (VLR)**: anchors (of any level, centre
  anywhere) whose DIoU with a gt box lies in ``[α·t_g, t_g)``, ``α = 0.25``.
  Each VLR anchor is weighted by its IoU with the best such gt, as in the
  reference's ``get_vlr_region`` (which, like this loss by default, does not
  remove positives from the VLR: a positive whose DIoU is below ``t_g``
  belongs to both; ``vlr_exclude_pos=True`` removes them).

Loss, with ``w(a)`` the weight of a main-region anchor::

    main = Σ_{a ∈ pos} w(a) · KL̄(a)
    vlr  = Σ_{a ∈ VLR} IoU(a) · KL̄(a) / 4
    L    = loss_weight · main / Z_main + vlr_weight · vlr / Z_vlr

* ``pos_weight='student_score'`` (default, as the reference and MMDetection's
  ``LDHead``): ``w(a)`` = the student's highest class probability at the
  anchor, detached (GFL's ``weight_targets``); ``'teacher_score'`` uses the
  teacher's; ``'none'`` uses 1.
* ``normalize='sum'`` (default): ``Z_main = Z_vlr = 1``. This is the
  reference's normalisation (``avg_factor=4`` over the 4·|pos| edge terms,
  ``avg_factor=16`` for the VLR, summed over levels), per GPU: the reference
  and the MMDetection config run 2 images per GPU, so a single-process run with
  a larger batch gets a proportionally larger loss. ``normalize='mean'``
  divides by the region's weight sums (``Z_main = Σ w``, ``Z_vlr = Σ IoU``, and
  no ``/4`` on the VLR): a weighted mean per anchor that does not grow with the
  batch or the number of objects.

Defaults ``tau=10``, ``loss_weight=0.25`` and ``vlr_weight=0.25`` are the
paper's/reference's values for COCO.

What differs from the paper / reference:

* Only the localization terms are here. The reference ``LDHead`` also distils
  the class scores of the positives (``loss_kd``, a softmax KL over classes,
  weight 0.5 by default there); MMDetection's ``LDHead`` does not. Add a
  ``DenseHeadKDLoss`` entry on ``bbox_head`` index 0 for class distillation.
* Ignored gt boxes (``ignored_instances``) are not used; GFL's ATSS assigner
  ignores them too (``ignore_iof_thr=-1``).
* DIoU is the standard ``IoU − ρ²/c²`` (ρ: distance between box centres, c:
  diagonal of the smallest enclosing box), as the paper defines the VLR. The
  reference's IoU calculator, in its ``'diou'`` mode, divides the intersection
  by the anchor's area instead of the union (``union = area1``), i.e. uses
  ``IoF − ρ²/c²``, which admits more (and larger) anchors into the VLR.

Inputs: the recorded output of a GFL ``bbox_head`` of both models, i.e.
``(cls_scores, bbox_preds)`` with one tensor per level (record
``dict(source='bbox_head')`` with ``levelwise=False``), or just the list of
``bbox_preds`` (``index=1``) when ``pos_weight='none'``. ``data_samples`` (the
student's ``DetDataSample``s, passed by the distiller) give the gt boxes and
``pad_shape`` (padding anchors are excluded, as GFL does). Teacher and student
must share strides, anchors and ``reg_max``; the anchors are those of
``anchor_generator`` (give the heads' own config).

Args:
    anchor_generator: config of the heads' prior generator (MMDetection
        ``AnchorGenerator``), e.g. ``model.bbox_head.anchor_generator``.
    reg_max: the heads' ``reg_max`` (``n``; ``n + 1`` bins per edge).
    tau: temperature.
    topk: ATSS candidates per level and gt (9 in GFL).
    alpha_vlr: lower DIoU bound of the VLR as a fraction of ``t_g``.
    loss_weight: weight of the main-region term.
    vlr_weight: weight of the VLR term (0 disables it).
    pos_weight: ``'student_score'``, ``'teacher_score'`` or ``'none'``.
    normalize: ``'sum'`` (reference) or ``'mean'`` (see above).
    vlr_exclude_pos: remove main-region anchors from the VLR.
"""
from __future__ import annotations

from typing import Any, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from kd.registry import MODELS

POS_WEIGHTS = ('student_score', 'teacher_score', 'none')
NORMALIZE = ('sum', 'mean')


def ld_regions(anchors: Tensor, num_level_anchors: Sequence[int], gts: Tensor, topk: int = 9,
               alpha_vlr: float = 0.25) -> tuple[Tensor, Tensor]:
    """Main region (ATSS positives) and VLR of one image.

    Args:
        anchors: ``(K, 4)`` xyxy anchors of all levels, level by level.
        num_level_anchors: number of anchors of each level (sums to K).
        gts: ``(G, 4)`` xyxy gt boxes.

    Returns:
        ``pos`` bool ``(K,)`` and ``vlr_iou`` float ``(K,)`` (the VLR weight:
        IoU with the best gt whose DIoU window contains the anchor, 0 outside).
    """
    num = anchors.shape[0]
    pos, vlr = ld_regions_batch(
        anchors, num_level_anchors, gts.reshape(1, -1, 4),
        torch.ones(1, gts.reshape(-1, 4).shape[0], dtype=torch.bool, device=anchors.device),
        torch.ones(1, num, dtype=torch.bool, device=anchors.device), topk, alpha_vlr)
    return pos[0], vlr[0]


def ld_regions_batch(anchors: Tensor, num_level_anchors: Sequence[int], gts: Tensor,
                     gt_mask: Tensor, valid: Tensor, topk: int = 9,
                     alpha_vlr: float = 0.25) -> tuple[Tensor, Tensor]:
    """:func:`ld_regions` for a whole batch at once, without a loop over images.

    Args:
        anchors: ``(K, 4)`` xyxy anchors of all levels, level by level.
        num_level_anchors: number of anchors of each level (sums to K).
        gts: ``(N, G, 4)`` gt boxes, padded to the batch's largest count.
        gt_mask: ``(N, G)`` bool, False for padding.
        valid: ``(N, K)`` bool, the anchors inside each image's padded area
            (``ld_regions`` gets only those anchors).

    Returns:
        ``pos`` bool ``(N, K)`` and ``vlr_iou`` ``(N, K)``, equal to
        :func:`ld_regions` run per image on its valid anchors (0/False on the
        others). Invalid anchors never become candidates: their centre distance
        is infinite, so a level's ``topk`` takes them last, and they are masked
        out of the threshold's mean and (unbiased) standard deviation.
    """
    n, num = valid.shape
    pos = valid.new_zeros(n, num)
    vlr_iou = anchors.new_zeros(n, num)
    if gts.shape[1] == 0 or num == 0:
        return pos, vlr_iou
    a = anchors[None, :, None, :]                                       # (1, K, 1, 4)
    g = gts[:, None, :, :]                                              # (N, 1, G, 4)
    inter = (torch.min(a[..., 2:], g[..., 2:]) - torch.max(a[..., :2], g[..., :2])
             ).clamp(min=0).prod(-1)                                    # (N, K, G)
    area_a = (a[..., 2:] - a[..., :2]).clamp(min=0).prod(-1)
    area_g = (g[..., 2:] - g[..., :2]).clamp(min=0).prod(-1)
    iou = inter / (area_a + area_g - inter).clamp(min=1e-6)
    ac = (a[..., :2] + a[..., 2:]) / 2                                  # (1, K, 1, 2)
    gc = (g[..., :2] + g[..., 2:]) / 2                                  # (N, 1, G, 2)
    rho2 = (ac - gc).pow(2).sum(-1)                                     # (N, K, G)
    dist = rho2.sqrt().masked_fill(~valid[:, :, None], float('inf'))

    candidates, start = [], 0
    for count in num_level_anchors:      # a handful of levels, not images or boxes
        if count > 0:
            k = min(topk, count)
            candidates.append(dist[:, start:start + count].topk(k, dim=1, largest=False)
                              .indices + start)
        start += count
    cand = torch.cat(candidates, 1)                                     # (N, C, G)
    cand_valid = valid[:, :, None].expand(-1, -1, cand.shape[2]).gather(1, cand)
    cand_iou = iou.gather(1, cand)
    weight = cand_valid.to(cand_iou.dtype)
    count = weight.sum(1)                                               # (N, G)
    mean = (cand_iou * weight).sum(1) / count
    var = ((cand_iou - mean[:, None]).pow(2) * weight).sum(1) / (count - 1)
    thr = mean + var.sqrt()                                             # t_g, (N, G)

    centres = ac[0, :, 0]                                               # (K, 2)
    cx, cy = centres[cand, 0], centres[cand, 1]                         # (N, C, G)
    gx1, gy1, gx2, gy2 = gts[:, None, :, 0], gts[:, None, :, 1], gts[:, None, :, 2], \
        gts[:, None, :, 3]
    inside = torch.stack([cx - gx1, cy - gy1, gx2 - cx, gy2 - cy], -1).min(-1).values > 0.01
    cand_pos = (cand_iou >= thr[:, None]) & inside & cand_valid
    is_pos = torch.zeros_like(iou, dtype=torch.bool)
    is_pos.scatter_(1, cand, cand_pos)   # one candidate entry per (image, anchor, gt)
    pos = (is_pos & gt_mask[:, None, :]).any(2) & valid

    lt = torch.min(a[..., :2], g[..., :2])
    rb = torch.max(a[..., 2:], g[..., 2:])
    diou = iou - rho2 / (rb - lt).pow(2).sum(-1).clamp(min=1e-6)
    in_window = (diou >= alpha_vlr * thr[:, None]) & (diou < thr[:, None]) & \
        gt_mask[:, None, :]
    window_iou = torch.where(in_window, iou, iou.new_full((), -1.0)).max(2).values
    vlr_iou = torch.where((window_iou >= 0) & valid, window_iou, vlr_iou)
    return pos, vlr_iou


def _gt_boxes(sample: Any) -> Tensor:
    gt = sample.gt_instances if not isinstance(sample, dict) else sample['gt_instances']
    boxes = gt.bboxes
    return boxes.tensor if hasattr(boxes, 'tensor') else boxes


def _metainfo(sample: Any) -> dict:
    if isinstance(sample, dict):
        return sample.get('metainfo', sample)
    return getattr(sample, 'metainfo', {})


@MODELS.register_module()
class LDLoss(nn.Module):
    """Localization distillation on GFL box-edge distributions (see module doc)."""

    def __init__(self,
                 anchor_generator: dict = dict(type='AnchorGenerator', ratios=[1.0],
                                               octave_base_scale=8, scales_per_octave=1,
                                               strides=[8, 16, 32, 64, 128]),
                 reg_max: int = 16,
                 tau: float = 10.0,
                 topk: int = 9,
                 alpha_vlr: float = 0.25,
                 loss_weight: float = 0.25,
                 vlr_weight: float = 0.25,
                 pos_weight: str = 'student_score',
                 normalize: str = 'sum',
                 vlr_exclude_pos: bool = False) -> None:
        super().__init__()
        if tau <= 0:
            raise ValueError(f'tau must be positive, got {tau}')
        if reg_max < 1:
            raise ValueError(f'reg_max must be >= 1, got {reg_max}')
        if topk < 1:
            raise ValueError(f'topk must be >= 1, got {topk}')
        if not 0 <= alpha_vlr <= 1:
            raise ValueError(f'alpha_vlr must be in [0, 1], got {alpha_vlr}')
        if pos_weight not in POS_WEIGHTS:
            raise ValueError(f'pos_weight must be one of {POS_WEIGHTS}, got {pos_weight!r}')
        if normalize not in NORMALIZE:
            raise ValueError(f'normalize must be one of {NORMALIZE}, got {normalize!r}')
        from mmdet.registry import TASK_UTILS  # MMDetection's anchors, as the heads build them
        self.prior_generator = TASK_UTILS.build(dict(anchor_generator))
        self.reg_max = int(reg_max)
        self.tau = float(tau)
        self.topk = int(topk)
        self.alpha_vlr = float(alpha_vlr)
        self.loss_weight = loss_weight
        self.vlr_weight = vlr_weight
        self.pos_weight = pos_weight
        self.normalize = normalize
        self.vlr_exclude_pos = vlr_exclude_pos

    # ------------------------------------------------------------------ inputs
    def _split(self, record: Any, side: str) -> tuple[list[Tensor] | None, list[Tensor]]:
        """``(cls_scores, bbox_preds)`` lists from a head output or a bbox_preds list."""
        hint = ("record the whole head output, dict(source='bbox_head'), with levelwise=False "
                "in the distill entry")
        if isinstance(record, Tensor):
            raise ValueError(f'LDLoss: the {side} record is one tensor {tuple(record.shape)}; '
                             f'the loss needs every level at once: {hint}.')
        record = list(record)
        if len(record) == 2 and all(isinstance(r, (list, tuple)) for r in record):
            cls, reg = list(record[0]), list(record[1])
            if len(cls) != len(reg):
                raise ValueError(f'LDLoss: {side} head output has {len(cls)} cls levels and '
                                 f'{len(reg)} bbox levels')
        elif all(isinstance(r, Tensor) for r in record):
            cls, reg = None, record
        else:
            raise ValueError(f'LDLoss: cannot read the {side} record: {hint}.')
        if self.pos_weight == f'{side}_score' and cls is None:
            raise ValueError(f"LDLoss: pos_weight='{self.pos_weight}' needs the {side}'s "
                             f'cls_scores: {hint} (not index=1), or set pos_weight=\'none\'.')
        return cls, reg

    def _check(self, s_reg: list[Tensor], t_reg: list[Tensor]) -> None:
        if len(s_reg) != len(t_reg):
            raise ValueError(f'LDLoss: {len(s_reg)} student levels vs {len(t_reg)} teacher '
                             'levels')
        if len(s_reg) != self.prior_generator.num_levels:
            raise ValueError(f'LDLoss: {len(s_reg)} levels but anchor_generator has '
                             f'{self.prior_generator.num_levels} strides')
        bins = 4 * (self.reg_max + 1)
        for lvl, (s, t) in enumerate(zip(s_reg, t_reg)):
            if s.shape != t.shape:
                raise ValueError(
                    f'LDLoss: level {lvl}: student bbox_preds {tuple(s.shape)} and teacher '
                    f'{tuple(t.shape)} differ; the heads must share strides, anchors and '
                    'reg_max.')
            per_anchor = bins * self.prior_generator.num_base_priors[lvl]
            if s.dim() != 4 or s.shape[1] != per_anchor:
                raise ValueError(
                    f'LDLoss: level {lvl}: bbox_preds {tuple(s.shape)} should be '
                    f'(N, {per_anchor}, H, W) = 4·(reg_max+1)·anchors with reg_max='
                    f'{self.reg_max}; is reg_max the heads\' value and is this the '
                    'bbox_preds record (bbox_head output index 1)?')

    def _flat(self, levels: list[Tensor], width: int) -> Tensor:
        n = levels[0].shape[0]
        return torch.cat([x.permute(0, 2, 3, 1).reshape(n, -1, width) for x in levels], 1)

    # --------------------------------------------------------------- regions
    def regions(self, featmap_sizes: list[tuple[int, int]], data_samples: Sequence[Any],
                device: torch.device) -> tuple[Tensor, Tensor]:
        """Main-region mask and VLR weights ``(N, M)`` over all anchors of a batch."""
        mlvl = self.prior_generator.grid_priors(featmap_sizes, device=device)
        anchors = torch.cat(mlvl, 0).float()
        counts = [a.shape[0] for a in mlvl]
        # valid anchors per image (one computation per distinct padded shape)
        flags = {}
        valid = []
        for sample in data_samples:
            meta = _metainfo(sample)
            pad = meta.get('pad_shape', meta.get('batch_input_shape'))
            key = tuple(pad[:2]) if pad is not None else None
            if key not in flags:
                flags[key] = torch.cat(self.prior_generator.valid_flags(
                    featmap_sizes, key, device)) if key is not None else \
                    torch.ones(anchors.shape[0], dtype=torch.bool, device=device)
            valid.append(flags[key])
        boxes = [_gt_boxes(s).to(device=device, dtype=torch.float32).reshape(-1, 4)
                 for s in data_samples]
        gts = torch.nn.utils.rnn.pad_sequence(boxes, batch_first=True)   # (N, G, 4)
        lengths = torch.tensor([b.shape[0] for b in boxes], device=device)
        gt_mask = torch.arange(gts.shape[1], device=device)[None] < lengths[:, None]
        return ld_regions_batch(anchors, counts, gts, gt_mask, torch.stack(valid), self.topk,
                                self.alpha_vlr)

    def edge_kl(self, s_flat: Tensor, t_flat: Tensor) -> Tensor:
        """``(N, M)``: mean over the 4 edges of τ²·KL(p_t‖p_s)/(n+1)."""
        n, m, _ = s_flat.shape
        s = s_flat.reshape(n, m, 4, self.reg_max + 1) / self.tau
        t = t_flat.reshape(n, m, 4, self.reg_max + 1) / self.tau
        kl = F.kl_div(F.log_softmax(s, -1), F.softmax(t, -1), reduction='none')
        return kl.mean(-1).mean(-1) * self.tau ** 2

    # ---------------------------------------------------------------- forward
    def forward(self, student: Any, teacher: Any, data_samples: list | None = None) -> Tensor:
        s_cls, s_reg = self._split(student, 'student')
        t_cls, t_reg = self._split(teacher, 'teacher')
        self._check(s_reg, t_reg)
        if data_samples is None:
            raise ValueError('LDLoss needs data_samples (the gt boxes define its regions); the '
                             'distiller passes them, a direct call must give data_samples=.')
        n = s_reg[0].shape[0]
        if len(data_samples) != n:
            raise ValueError(f'LDLoss: {len(data_samples)} data samples for a batch of {n}')
        width = 4 * (self.reg_max + 1)
        s_flat = self._flat([x.float() for x in s_reg], width)
        t_flat = self._flat([x.detach().float() for x in t_reg], width)
        featmap_sizes = [tuple(x.shape[-2:]) for x in s_reg]
        with torch.no_grad():
            pos, vlr_w = self.regions(featmap_sizes, data_samples, s_flat.device)
            if self.pos_weight == 'none':
                pos_w = pos.float()
            else:
                cls = s_cls if self.pos_weight == 'student_score' else t_cls
                c = cls[0].shape[1] // self.prior_generator.num_base_priors[0]
                score = self._flat([x.detach().float() for x in cls], c).sigmoid().max(-1).values
                pos_w = pos.float() * score
            if self.vlr_exclude_pos:
                vlr_w = vlr_w * (~pos).float()
        kl = self.edge_kl(s_flat, t_flat)
        main = (pos_w * kl).sum()
        vlr = (vlr_w * kl).sum()
        if self.normalize == 'sum':
            vlr = vlr / 4.0
        else:
            main = main / pos_w.sum().clamp(min=1e-6)
            vlr = vlr / vlr_w.sum().clamp(min=1e-6)
        return self.loss_weight * main + self.vlr_weight * vlr

    def extra_repr(self) -> str:
        return (f'reg_max={self.reg_max}, tau={self.tau}, topk={self.topk}, '
                f'alpha_vlr={self.alpha_vlr}, loss_weight={self.loss_weight}, '
                f'vlr_weight={self.vlr_weight}, pos_weight={self.pos_weight!r}, '
                f'normalize={self.normalize!r}')
