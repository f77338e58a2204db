"""Hungarian-matched logit and box distillation for DETR-family detectors.

A DETR decoder predicts an unordered set: query ``i`` of the student has no
reason to describe the same object as query ``i`` of the teacher. The loss
therefore first pairs them, per image, the way DETR pairs predictions with
ground truth, and only then compares the pairs:

1. **Targets.** The teacher's last decoder layer gives per-query class
   probabilities ``p_t`` (sigmoid, or softmax without the background column
   for a softmax head) and boxes. Its confident queries (best class
   probability ``> score_thr``, at most ``topk`` of them per image) are the
   targets; the best probability is the target's *confidence* ``w``.
2. **Matching.** Student queries are matched one-to-one to the targets with
   the Hungarian algorithm (``scipy.optimize.linear_sum_assignment``, on the
   CPU, once per image and distilled layer) on the cost of DINO's matcher::

       C = 2 · focal_cost(p_s[label_t]) + 5 · |b_s − b_t|₁ − 2 · GIoU(b_s, b_t)

   ``focal_cost(p) = α(1−p)^γ·(−log p) − (1−α)p^γ·(−log(1−p))`` is the cost
   of the target's class (the teacher's arg-max class) under focal loss
   (``−p`` for a softmax head); boxes are normalised ``(cx, cy, w, h)``. The
   costs against the targets are computed for all images and layers at once
   (targets padded to the largest count); only the assignment loops.
3. **Losses** (``M`` matched pairs over the batch, ``avg = max(M, 1)``):

   * class, sigmoid heads: soft-target BCE on every class of every student
     query, modulated as in Quality Focal Loss,
     ``Σ |T − p_s|^γ · BCE(p_s, T) / avg``, where the target ``T`` of a
     matched query is the teacher's probability vector of its target and the
     target of an *unmatched* query is 0 (background, as DETR treats queries
     matched to no object), or no loss at all with ``unmatched='ignore'``;
   * class, softmax heads (DETR): soft cross-entropy against the teacher's
     full softmax (background included) for matched queries, one-hot
     background with weight ``bg_weight`` for unmatched ones, averaged over
     the query weights (mmdet's DETR normalisation);
   * boxes: ``Σ w · (5 · |b_s − b_t|₁ + 2 · (1 − GIoU)) / avg`` on the matched
     pairs, so an unsure teacher prediction pulls the student less.

   With ``per_layer=True`` every student decoder layer is matched and
   distilled against the teacher's last-layer targets and the layer losses
   are averaged; otherwise only the student's last layer is distilled.

**Where to record.** Both sides record ``bbox_head.forward`` (a method
recorder): it returns ``(cls_scores, bbox_preds)`` of shape
``(layers, N, queries, classes)`` and ``(layers, N, queries, 4)`` for
``DETRHead``, ``DeformableDETRHead`` and ``DINOHead``, and it fires both in
the student's ``loss`` (``bbox_head.loss`` calls ``self(...)``) and in the
teacher's ``tensor`` forward (``_forward`` calls ``bbox_head.forward``
directly, which a module hook would miss). The distill entry needs
``levelwise=False`` so the pair reaches the loss whole.

**Denoising queries.** In training, DINO puts its contrastive denoising
queries *in front of* the matching queries (``DINO.pre_decoder`` concatenates
``[dn_queries, matching_queries]`` and ``DINOHead.split_outputs`` takes the
first ``dn_meta['num_denoising_queries']`` as denoising). Their number changes
with the number of ground-truth boxes in the batch, but the matching queries
are always the *last* ``num_queries`` (the detector's ``num_queries``).
The loss keeps exactly those: ``num_queries`` is the student's number of
matching queries; ``None`` takes the teacher's query count, which is right
when both detectors have the same ``num_queries`` (the teacher runs in eval
mode, where DINO adds no denoising queries). The teacher's queries are all
used.

References:
    DETRDistill (Chang et al., ICCV 2023), its Hungarian-matching logits
    distillation; D^3ETR (Chen et al., IJCAI 2024), the adaptive (bipartite)
    part of its MixMatcher; DINO (Zhang et al., ICLR 2023) for the matching
    costs. See ``configs/detr_kd/README.md`` for what is and is not taken
    from each paper.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from kd.registry import MODELS

_EPS = 1e-12


def _upcast(x: torch.Tensor) -> torch.Tensor:
    """At least float32 (half-precision inputs are computed in float32)."""
    return x if x.dtype in (torch.float32, torch.float64) else x.float()


def cxcywh_to_xyxy(boxes: torch.Tensor) -> torch.Tensor:
    """``(cx, cy, w, h)`` to ``(x1, y1, x2, y2)`` on the last dimension."""
    cx, cy, w, h = boxes.unbind(-1)
    return torch.stack([cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h], dim=-1)


def generalized_iou(a: torch.Tensor, b: torch.Tensor, eps: float = 1e-7) -> torch.Tensor:
    """GIoU of ``xyxy`` boxes ``a`` and ``b`` that broadcast against each other.

    ``generalized_iou(a[:, None], b[None])`` gives the pairwise matrix.
    """
    area_a = (a[..., 2] - a[..., 0]).clamp(min=0) * (a[..., 3] - a[..., 1]).clamp(min=0)
    area_b = (b[..., 2] - b[..., 0]).clamp(min=0) * (b[..., 3] - b[..., 1]).clamp(min=0)
    lt = torch.maximum(a[..., :2], b[..., :2])
    rb = torch.minimum(a[..., 2:], b[..., 2:])
    inter = (rb - lt).clamp(min=0).prod(-1)
    union = area_a + area_b - inter
    iou = inter / union.clamp(min=eps)
    lt_c = torch.minimum(a[..., :2], b[..., :2])
    rb_c = torch.maximum(a[..., 2:], b[..., 2:])
    enclose = (rb_c - lt_c).clamp(min=0).prod(-1)
    return iou - (enclose - union) / enclose.clamp(min=eps)


def _unpack(record, side: str) -> tuple[torch.Tensor, torch.Tensor]:
    """``(cls_scores, bbox_preds)`` as ``(L, N, Q, C)`` and ``(L, N, Q, 4)``."""
    if isinstance(record, torch.Tensor) or not isinstance(record, (tuple, list)) \
            or len(record) < 2 or not all(isinstance(r, torch.Tensor) for r in record[:2]):
        got = (f'a tensor of shape {tuple(record.shape)}' if isinstance(record, torch.Tensor)
               else f'{type(record).__name__} of length {len(record)}'
               if isinstance(record, (tuple, list)) else type(record).__name__)
        raise TypeError(
            f'DETRDistillLoss: the {side} record must be the pair (cls_scores, bbox_preds) '
            f"returned by the head's forward; got {got}. Record "
            "dict(source='bbox_head.forward', type='method_outputs') and set "
            'levelwise=False in the distill entry so the pair is not split into levels.')
    cls, box = record[0], record[1]
    if cls.dim() == 3:  # one decoder layer without the layer dimension
        cls, box = cls.unsqueeze(0), box.unsqueeze(0)
    if cls.dim() != 4 or box.dim() != 4 or box.shape[-1] != 4 \
            or cls.shape[:3] != box.shape[:3]:
        raise ValueError(f'DETRDistillLoss: {side} cls_scores {tuple(cls.shape)} and '
                         f'bbox_preds {tuple(box.shape)} must be (layers, N, queries, classes)'
                         ' and (layers, N, queries, 4)')
    return cls, box


@MODELS.register_module()
class DETRDistillLoss(nn.Module):
    """Hungarian-matched class and box distillation of DETR decoders (see module doc).

    Args:
        num_queries: the student's number of matching queries; the last
            ``num_queries`` student queries are distilled (DINO's denoising
            queries come first). ``None``: the teacher's query count.
        score_thr: teacher queries whose best class probability is above this
            become targets.
        topk: at most this many targets per image (the most confident);
            ``None``: no limit.
        per_layer: distill every student decoder layer (mean over layers)
            instead of the last one only.
        use_sigmoid: ``True`` for sigmoid heads (Deformable DETR, DINO);
            ``False`` for softmax heads whose last class is background (DETR).
        unmatched: ``'background'`` pushes unmatched student queries to
            background; ``'ignore'`` gives them no class loss.
        match_cost: weights of the matching cost, ``dict(cls=, l1=, giou=)``.
        alpha, focal_gamma: focal-cost parameters of the class matching cost.
        gamma: QFL modulating exponent of the sigmoid class loss (0: plain BCE).
        bg_weight: weight of unmatched (background) queries in the softmax
            class loss (DETR's ``bg_cls_weight``).
        cls_weight, l1_weight, giou_weight: weights of the three loss terms
            (DINO's 1 / 5 / 2).
        loss_weight: factor applied to the sum.
    """

    shape_check = 'none'  # student and teacher may differ in layers and queries

    def __init__(self,
                 num_queries: int | None = None,
                 score_thr: float = 0.3,
                 topk: int | None = None,
                 per_layer: bool = False,
                 use_sigmoid: bool = True,
                 unmatched: str = 'background',
                 match_cost: dict[str, float] | None = None,
                 alpha: float = 0.25,
                 focal_gamma: float = 2.0,
                 gamma: float = 2.0,
                 bg_weight: float = 0.1,
                 cls_weight: float = 1.0,
                 l1_weight: float = 5.0,
                 giou_weight: float = 2.0,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if unmatched not in ('background', 'ignore'):
            raise ValueError(f"unmatched must be 'background' or 'ignore', got {unmatched!r}")
        if num_queries is not None and num_queries <= 0:
            raise ValueError(f'num_queries must be positive, got {num_queries}')
        if topk is not None and topk <= 0:
            raise ValueError(f'topk must be positive, got {topk}')
        cost = dict(cls=2.0, l1=5.0, giou=2.0)
        unknown = set(match_cost or {}) - set(cost)
        if unknown:
            raise KeyError(f'match_cost has unknown keys {sorted(unknown)}; use {sorted(cost)}')
        cost.update(match_cost or {})
        self.num_queries = num_queries
        self.score_thr = score_thr
        self.topk = topk
        self.per_layer = per_layer
        self.use_sigmoid = use_sigmoid
        self.unmatched = unmatched
        self.match_cost = cost
        self.alpha = alpha
        self.focal_gamma = focal_gamma
        self.gamma = gamma
        self.bg_weight = bg_weight
        self.cls_weight = cls_weight
        self.l1_weight = l1_weight
        self.giou_weight = giou_weight
        self.loss_weight = loss_weight

    # ------------------------------------------------------------- targets
    def _probs(self, logits: torch.Tensor) -> torch.Tensor:
        """Foreground class probabilities (softmax heads drop the background column)."""
        if self.use_sigmoid:
            return logits.sigmoid()
        return logits.softmax(-1)[..., :-1]

    def select_targets(self, t_prob: torch.Tensor) -> list[torch.Tensor]:
        """Per image, the indices of the teacher queries that become targets."""
        scores = t_prob.max(-1).values
        targets = []
        for s in scores:
            order = s.argsort(descending=True)
            order = order[s[order] > self.score_thr]
            if self.topk is not None:
                order = order[:self.topk]
            targets.append(order)
        return targets

    # ------------------------------------------------------------ matching
    @torch.no_grad()
    def match_cost_matrix(self, s_cls: torch.Tensor, s_box: torch.Tensor,
                          t_label: torch.Tensor, t_box: torch.Tensor) -> torch.Tensor:
        """Cost of assigning each student query to each teacher query.

        ``s_cls (..., N, Q, C)``, ``s_box (..., N, Q, 4)``, ``t_label (N, T)``,
        ``t_box (N, T, 4)`` give ``(..., N, Q, T)``.
        """
        s_prob = self._probs(_upcast(s_cls))
        index = t_label.unsqueeze(-2).expand(*s_prob.shape[:-1], t_label.shape[-1])
        p = s_prob.gather(-1, index)  # (..., N, Q, T): student prob of each target's class
        if self.use_sigmoid:
            pos = self.alpha * (1 - p).pow(self.focal_gamma) * -(p + _EPS).log()
            neg = (1 - self.alpha) * p.pow(self.focal_gamma) * -(1 - p + _EPS).log()
            cls_cost = pos - neg
        else:
            cls_cost = -p
        s_box = _upcast(s_box)
        l1 = (s_box.unsqueeze(-2) - t_box.unsqueeze(-3)).abs().sum(-1)
        giou = generalized_iou(cxcywh_to_xyxy(s_box).unsqueeze(-2),
                               cxcywh_to_xyxy(t_box).unsqueeze(-3))
        return (self.match_cost['cls'] * cls_cost + self.match_cost['l1'] * l1
                - self.match_cost['giou'] * giou)

    @staticmethod
    def hungarian(cost: torch.Tensor, targets: Sequence[torch.Tensor]
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Assign, per image, student queries to that image's targets.

        Args:
            cost: ``(N, Q, K)`` costs; column ``j`` of image ``b`` is the
                target ``targets[b][j]`` (columns past ``len(targets[b])`` are
                padding and ignored).
            targets: per image, the teacher query indices that are targets.

        Returns:
            ``(image, student query, teacher query)`` index tensors of the pairs.
        """
        from scipy.optimize import linear_sum_assignment
        cost_np = cost.detach().double().cpu().numpy()
        if not np.isfinite(cost_np).all():
            # A NaN/Inf cost (diverged or uninitialised weights) would make
            # scipy raise deep inside the step; match on the finite part and let
            # the loss itself turn non-finite, which the distiller's nan_policy
            # reports with the entry name and iteration.
            finite = cost_np[np.isfinite(cost_np)]
            big = float(np.abs(finite).max()) * 2 + 1 if finite.size else 1.0
            cost_np = np.nan_to_num(cost_np, nan=big, posinf=big, neginf=-big)
        imgs, rows, cols = [], [], []
        for b, tgt in enumerate(targets):
            k = int(tgt.numel())
            if k == 0:
                continue
            r, c = linear_sum_assignment(cost_np[b, :, :k])
            imgs.append(np.full(len(r), b))
            rows.append(r)
            cols.append(tgt.cpu().numpy()[c])
        device = cost.device
        if not imgs:
            empty = torch.zeros(0, dtype=torch.long, device=device)
            return empty, empty, empty
        return tuple(torch.as_tensor(np.concatenate(x), dtype=torch.long, device=device)
                     for x in (imgs, rows, cols))

    # --------------------------------------------------------------- losses
    def _layer_loss(self, s_cls: torch.Tensor, s_box: torch.Tensor, t_cls: torch.Tensor,
                    t_prob: torch.Tensor, t_score: torch.Tensor, t_box: torch.Tensor,
                    pairs: tuple[torch.Tensor, torch.Tensor, torch.Tensor]) -> torch.Tensor:
        b, si, ti = pairs
        n, q = s_cls.shape[:2]
        matched = s_cls.new_zeros((n, q), dtype=torch.bool)
        matched[b, si] = True
        avg = max(int(b.numel()), 1)
        s_cls = _upcast(s_cls)

        if self.use_sigmoid:
            target = torch.zeros_like(s_cls)
            target[b, si] = t_prob[b, ti]
            p_s = s_cls.sigmoid()
            bce = F.binary_cross_entropy_with_logits(s_cls, target, reduction='none')
            if self.gamma:
                bce = bce * (target - p_s).abs().pow(self.gamma)
            if self.unmatched == 'ignore':
                bce = bce * matched.unsqueeze(-1)
            cls_loss = bce.sum() / avg
        else:
            full = t_cls.softmax(-1)
            target = torch.zeros_like(s_cls)
            target[..., -1] = 1.0  # background
            target[b, si] = full[b, ti]
            ce = -(target * s_cls.log_softmax(-1)).sum(-1)
            bg = 0.0 if self.unmatched == 'ignore' else self.bg_weight
            weight = torch.where(matched, torch.ones_like(ce), torch.full_like(ce, bg))
            cls_loss = (weight * ce).sum() / weight.sum().clamp(min=1.0)

        w = t_score[b, ti]
        sb, tb = _upcast(s_box[b, si]), t_box[b, ti]
        l1 = (sb - tb).abs().sum(-1)
        giou = generalized_iou(cxcywh_to_xyxy(sb), cxcywh_to_xyxy(tb))
        box_loss = (w * (self.l1_weight * l1 + self.giou_weight * (1 - giou))).sum() / avg
        return self.cls_weight * cls_loss + box_loss

    def forward(self, student, teacher) -> torch.Tensor:
        s_cls, s_box = _unpack(student, 'student')
        t_cls, t_box = _unpack(teacher, 'teacher')
        if s_cls.shape[1] != t_cls.shape[1] or s_cls.shape[-1] != t_cls.shape[-1]:
            raise ValueError(f'DETRDistillLoss: student cls_scores {tuple(s_cls.shape)} and '
                             f'teacher cls_scores {tuple(t_cls.shape)} must share the batch '
                             'size and the number of classes')
        num_queries = self.num_queries or t_cls.shape[2]
        if s_cls.shape[2] < num_queries:
            raise ValueError(f'DETRDistillLoss: the student has {s_cls.shape[2]} queries, '
                             f'fewer than num_queries={num_queries}; set num_queries to the '
                             "student detector's num_queries")
        # matching queries only: DINO's denoising queries come first
        s_cls, s_box = s_cls[:, :, -num_queries:], s_box[:, :, -num_queries:]
        if not self.per_layer:
            s_cls, s_box = s_cls[-1:], s_box[-1:]

        t_cls = _upcast(t_cls[-1].detach())
        t_box = _upcast(t_box[-1].detach())
        t_prob = self._probs(t_cls)
        t_score, t_label = t_prob.max(-1)
        targets = self.select_targets(t_prob)
        # costs against the targets only, padded to the largest count in the batch
        padded = torch.zeros(len(targets), max([len(t) for t in targets] + [1]),
                             dtype=torch.long, device=t_cls.device)
        for b, tgt in enumerate(targets):
            padded[b, :len(tgt)] = tgt
        cost = self.match_cost_matrix(s_cls.detach(), s_box.detach(),
                                      t_label.gather(1, padded),
                                      t_box.gather(1, padded.unsqueeze(-1).expand(-1, -1, 4)))

        total = _upcast(s_cls).new_zeros(())
        for layer in range(s_cls.shape[0]):
            pairs = self.hungarian(cost[layer], targets)
            total = total + self._layer_loss(s_cls[layer], s_box[layer], t_cls, t_prob,
                                             t_score, t_box, pairs)
        return self.loss_weight * total / s_cls.shape[0]

    def extra_repr(self) -> str:
        return (f'num_queries={self.num_queries}, score_thr={self.score_thr}, '
                f'topk={self.topk}, per_layer={self.per_layer}, '
                f'use_sigmoid={self.use_sigmoid}, unmatched={self.unmatched!r}, '
                f'match_cost={self.match_cost}, loss_weight={self.loss_weight}')
