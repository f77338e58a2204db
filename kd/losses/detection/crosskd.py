"""CrossKD: cross-head prediction mimicking for dense detectors (GFL, RetinaNet).

Paper: J. Wang, Y. Chen, Z. Zheng, X. Li, M.-M. Cheng, Q. Hou. "CrossKD:
Cross-Head Knowledge Distillation for Object Detection". CVPR 2024
(arXiv:2306.11369). Reference implementation: jbwang1997/CrossKD
(``CrossKDGFL``, ``CrossKDRetinaNet``, ``KDQualityFocalLoss``).

The student's head features after its first ``i`` convolutions of each branch
(``cls_convs``, ``reg_convs``; before that convolution's activation) are fed
to the *teacher's* remaining head layers (its convolutions ``i..``, output
convolutions and, for GFL, its per-level ``Scale``), frozen. The resulting
cross-head predictions ``p̂ˢ`` mimic the teacher's own predictions ``pᵗ``; the
gradient reaches the student's head through the teacher's layers, and the
student's own predictions are left to the ground truth:

    L = Σ_r S(r) · D(p̂ˢ(r), pᵗ(r)) / Z

over all anchors ``r`` of all levels of the batch, with, as in the reference:

* classification, ``S(r)`` = the head's label weight (0 on anchors its
  assigner ignores), ``Z`` = the head's number of positives (its
  ``avg_factor``) and ``D`` = quality-focal soft-label BCE summed over classes
  (``KDQualityFocalLoss``)::

      D_cls = Σ_c |σ(ŝ_c) − σ(t_c)|^β · BCE(σ(ŝ_c), σ(t_c))

* box regression, ``S(r)`` = the teacher's highest class probability at the
  anchor (0 where the label weight is 0):

  - GFL: ``loss_kl ·`` the KL divergence of each edge's distribution
    (``KL(softmax(t_e/τ) ‖ softmax(ŝ_e/τ)) · τ²`` summed over the ``n+1`` bins,
    averaged over the 4 edges) ``+ loss_giou · (1 − GIoU)`` of the boxes the
    two distributions decode to; ``Z = Σ_r S(r)``;
  - RetinaNet: ``loss_giou · (1 − GIoU)`` of the boxes decoded from both sets
    of deltas at the anchor; ``Z`` = the number of positives.

The loss adds ``loss_cls · L_cls + L_reg``. The positives and label weights come
from the teacher head's own target assignment (``get_anchors`` + ``get_targets``
with the batch's gt boxes, which is the student's assignment whenever the two
heads share anchors and assigner, which CrossKD needs anyway for the
predictions to correspond).

Before the teacher's layers, the student feature of each channel is
standardised over batch and positions and given the teacher feature's mean and
standard deviation (``align=True``, the reference's ``align_scale``; not in the
paper's text), then passed through the activation of the teacher's
convolution ``i``. With ``student_channels`` different from the teacher head's
width a 1×1 convolution per branch maps the student feature first (kd's
addition, trained with the student, for heads of different widths).

Defaults are the reference's COCO settings: ``β = 1``, ``loss_cls = 1``; GFL
``loss_kl = 3`` (``τ = 1``) and ``loss_giou = 2``; RetinaNet ``loss_giou = 1``.

Inputs: per level ``{'cls_convs': Tensor, 'reg_convs': Tensor}`` from a
``HeadConvFeaturesRecorder`` with the same ``depth`` on both sides, with
``levelwise=False`` (normalisers span all levels) and
``teacher_module='bbox_head'`` in the distill entry; ``data_samples`` (the
batch's gt boxes) are passed by the distiller. When the teacher's recorder also
keeps the head's output layers (``outputs=['retina_cls', 'retina_reg']``, GFL:
``['gfl_cls', 'gfl_reg']``), the teacher's own predictions are taken from its
forward; without them the teacher's remaining head layers run a second time on
its recorded features (the same numbers, computed twice).

Args:
    depth: ``i``, how many convolutions of each branch ran in the recorded features.
    beta: focusing exponent of the classification term.
    loss_cls: weight of the classification term.
    loss_kl: weight of the GFL distribution KL (``None``: 3.0; ignored for RetinaNet).
    loss_giou: weight of the GIoU term (``None``: 2.0 for GFL, 1.0 for RetinaNet).
    tau: temperature of the GFL distribution KL.
    align: match the student feature's per-channel statistics to the teacher's.
    student_channels: the student head's width when it differs from the teacher's.
"""
from __future__ import annotations

from typing import Any, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from kd.registry import MODELS

BRANCHES = ('cls_convs', 'reg_convs')
# head kind -> (classification output conv, regression output conv)
HEAD_OUTPUTS = {'gfl': ('gfl_cls', 'gfl_reg'), 'retina': ('retina_cls', 'retina_reg')}
DEFAULT_WEIGHTS = {'gfl': dict(loss_kl=3.0, loss_giou=2.0),
                   'retina': dict(loss_kl=0.0, loss_giou=1.0)}


def quality_focal_kd(student: torch.Tensor, teacher: torch.Tensor,
                     beta: float) -> torch.Tensor:
    """Per element ``|σ(s) − σ(t)|^β · BCE(σ(s), σ(t))`` (teacher detached)."""
    target = teacher.detach().sigmoid()
    bce = F.binary_cross_entropy_with_logits(student, target, reduction='none')
    return bce * (student.sigmoid() - target).abs().pow(beta)


def distribution_kl(student: torch.Tensor, teacher: torch.Tensor,
                    tau: float) -> torch.Tensor:
    """Per row ``τ² · KL(softmax(t/τ) ‖ softmax(s/τ))`` summed over the bins."""
    target = F.softmax(teacher.detach() / tau, dim=-1)
    return F.kl_div(F.log_softmax(student / tau, dim=-1), target,
                    reduction='none').sum(-1) * tau * tau


def align_scale(student: torch.Tensor, teacher: torch.Tensor,
                eps: float = 1e-6) -> torch.Tensor:
    """``student`` standardised per channel over (N, H, W), given ``teacher``'s mean and std."""
    dims = (0, 2, 3)
    s_mean, s_std = student.mean(dims, keepdim=True), student.std(dims, keepdim=True)
    teacher = teacher.detach()
    t_mean, t_std = teacher.mean(dims, keepdim=True), teacher.std(dims, keepdim=True)
    return (student - s_mean) / (s_std + eps) * t_std + t_mean


def head_kind(head: nn.Module) -> str:
    """``'gfl'`` or ``'retina'`` from the head's output layers."""
    for kind, (cls_name, reg_name) in HEAD_OUTPUTS.items():
        if all(isinstance(getattr(head, n, None), nn.Module) for n in (cls_name, reg_name)):
            return kind
    raise TypeError(f'CrossKDLoss supports GFL heads (gfl_cls/gfl_reg) and RetinaNet heads '
                    f'(retina_cls/retina_reg); {type(head).__name__} has neither')


@MODELS.register_module()
class CrossKDLoss(nn.Module):
    """Cross-head prediction mimicking through the teacher's head (see module doc)."""

    def __init__(self, depth: int, beta: float = 1.0, loss_cls: float = 1.0,
                 loss_kl: float | None = None, loss_giou: float | None = None,
                 tau: float = 1.0, align: bool = True,
                 student_channels: int | None = None) -> None:
        super().__init__()
        if isinstance(depth, bool) or not isinstance(depth, int) or depth < 0:
            raise ValueError(f'CrossKDLoss: depth must be an int >= 0, got {depth!r}')
        if beta < 0 or tau <= 0:
            raise ValueError(f'CrossKDLoss: beta must be >= 0 and tau > 0, got {beta}, {tau}')
        self.depth = depth
        self.beta = float(beta)
        self.loss_cls = float(loss_cls)
        self._loss_kl, self._loss_giou = loss_kl, loss_giou
        self.tau = float(tau)
        self.align = bool(align)
        self.student_channels = student_channels
        self.kind: str | None = None
        self.adapters: nn.ModuleDict | None = None

    # ------------------------------------------------------------------ build
    @property
    def head(self) -> nn.Module:
        head = self.__dict__.get('_teacher_head')
        if head is None:
            raise RuntimeError("CrossKDLoss has no teacher head: put teacher_module='bbox_head' "
                               'in the distill entry (or call bind_teacher_module(head))')
        return head

    def bind_teacher_module(self, head: nn.Module) -> None:
        """Keep the teacher's head (outside this module's tree) and build the adapters."""
        self.kind = head_kind(head)
        for branch in BRANCHES:
            stack = getattr(head, branch, None)
            if not isinstance(stack, nn.ModuleList) or self.depth > len(stack):
                raise ValueError(f'CrossKDLoss: depth={self.depth} but the teacher head has '
                                 f'{len(stack) if stack is not None else 0} {branch}')
        object.__setattr__(self, '_teacher_head', head)   # not a sub-module: no state, no grad
        defaults = DEFAULT_WEIGHTS[self.kind]
        self.loss_kl = defaults['loss_kl'] if self._loss_kl is None else float(self._loss_kl)
        self.loss_giou = defaults['loss_giou'] if self._loss_giou is None \
            else float(self._loss_giou)
        width = self.teacher_channels
        if self.student_channels is not None and self.student_channels != width:
            self.adapters = nn.ModuleDict({b: nn.Conv2d(self.student_channels, width, 1)
                                           for b in BRANCHES})

    @property
    def teacher_channels(self) -> int:
        """Channels of the teacher features at ``depth``."""
        stack = self.head.cls_convs
        if self.depth == 0:
            return int(stack[0].conv.in_channels)
        return int(stack[self.depth - 1].conv.out_channels)

    # ------------------------------------------------------------ head layers
    def head_tail(self, feat: torch.Tensor, branch: str, level: int) -> torch.Tensor:
        """The teacher head's layers after conv ``depth`` of ``branch``, on a pre-activation."""
        head = self.head
        stack = getattr(head, branch)
        x = feat
        if self.depth > 0:
            conv = stack[self.depth - 1]
            if getattr(conv, 'with_activation', False):
                act = conv.activate
                x = act(x.clone()) if getattr(act, 'inplace', False) else act(x)
        for conv in stack[self.depth:]:
            x = conv(x)
        cls_name, reg_name = HEAD_OUTPUTS[self.kind]
        if branch == 'cls_convs':
            return getattr(head, cls_name)(x)
        out = getattr(head, reg_name)(x)
        if self.kind == 'gfl':
            out = head.scales[level](out).float()
        return out

    def teacher_output(self, record: dict, feat: torch.Tensor, branch: str,
                       level: int) -> torch.Tensor:
        """The teacher's own prediction of ``branch`` at ``level``.

        Taken from the record when the teacher's recorder kept the head's output
        layers (``outputs=[cls, reg]``: the teacher's forward computed them
        already); else the head's remaining layers run again on ``feat``.
        """
        cls_name, reg_name = HEAD_OUTPUTS[self.kind]
        name = cls_name if branch == 'cls_convs' else reg_name
        if name not in record:
            with torch.no_grad():
                return self.head_tail(feat, branch, level)
        out = record[name].detach()
        if branch == 'reg_convs' and self.kind == 'gfl':
            with torch.no_grad():
                out = self.head.scales[level](out).float()
        return out

    def _levels(self, record: Any, side: str) -> list[dict]:
        levels = [record] if isinstance(record, dict) else list(record)
        for level in levels:
            if not isinstance(level, dict) or set(BRANCHES) - set(level):
                raise ValueError(
                    f'CrossKDLoss: the {side} record should hold, per level, a dict with '
                    f'{list(BRANCHES)}: record dict(type=\'HeadConvFeaturesRecorder\', '
                    f"source='bbox_head', depth={self.depth}) with levelwise=False")
        return levels

    def predictions(self, student: Any, teacher: Any) -> tuple[list, list, list, list]:
        """Cross-head and teacher ``(cls_scores, bbox_preds)`` per level."""
        s_levels, t_levels = self._levels(student, 'student'), self._levels(teacher, 'teacher')
        if len(s_levels) != len(t_levels):
            raise ValueError(f'CrossKDLoss: {len(s_levels)} student levels vs '
                             f'{len(t_levels)} teacher levels')
        cross: dict[str, list] = {b: [] for b in BRANCHES}
        own: dict[str, list] = {b: [] for b in BRANCHES}
        for level, (s, t) in enumerate(zip(s_levels, t_levels)):
            for branch in BRANCHES:
                s_feat, t_feat = s[branch].float(), t[branch].float()
                if self.adapters is not None:
                    s_feat = self.adapters[branch](s_feat)
                if s_feat.shape != t_feat.shape:
                    raise ValueError(
                        f'CrossKDLoss: level {level} {branch}: student feature '
                        f'{tuple(s[branch].shape)} vs teacher {tuple(t_feat.shape)}; set '
                        f'student_channels={s[branch].shape[1]} (a 1x1 conv maps it to '
                        f'{self.teacher_channels}) and use heads with the same strides')
                if self.align:
                    s_feat = align_scale(s_feat, t_feat)
                cross[branch].append(self.head_tail(s_feat, branch, level))
                own[branch].append(self.teacher_output(t, t_feat, branch, level))
        return cross['cls_convs'], cross['reg_convs'], own['cls_convs'], own['reg_convs']

    # ----------------------------------------------------------------- targets
    def targets(self, cls_scores: Sequence[torch.Tensor], data_samples: Sequence[Any]
                ) -> tuple[list[torch.Tensor], list[torch.Tensor], torch.Tensor]:
        """Per level anchors ``(M_l, 4)``, label weights ``(N, M_l)``, and the positives."""
        from mmdet.models.utils import unpack_gt_instances
        from mmdet.utils import reduce_mean
        head = self.head
        sizes = [c.shape[-2:] for c in cls_scores]
        device = cls_scores[0].device
        gts, ignores, metas = unpack_gt_instances(list(data_samples))
        anchor_list, valid_list = head.get_anchors(sizes, metas, device=device)
        with torch.no_grad():
            result = head.get_targets(anchor_list, valid_list, gts, metas,
                                      batch_gt_instances_ignore=ignores)
        label_weights, avg_factor = result[-4], result[-1]
        anchors = head.prior_generator.grid_priors(sizes, device=device)
        positives = reduce_mean(torch.tensor(float(avg_factor), device=device)).clamp(min=1.0)
        return anchors, [w.reshape(w.shape[0], -1).float() for w in label_weights], positives

    # -------------------------------------------------------------------- loss
    def forward(self, student: Any, teacher: Any,
                data_samples: Sequence[Any] | None = None) -> torch.Tensor:
        if data_samples is None:
            raise ValueError('CrossKDLoss needs the batch\'s data_samples (gt boxes) for the '
                             "head's positives and label weights")
        s_cls, s_reg, t_cls, t_reg = self.predictions(student, teacher)
        anchors, label_weights, positives = self.targets(t_cls, data_samples)
        strides = [s[0] for s in self.head.prior_generator.strides]
        return self.prediction_loss(s_cls, s_reg, t_cls, t_reg, anchors, label_weights,
                                    positives, strides)

    def prediction_loss(self, s_cls: Sequence[torch.Tensor], s_reg: Sequence[torch.Tensor],
                        t_cls: Sequence[torch.Tensor], t_reg: Sequence[torch.Tensor],
                        anchors: Sequence[torch.Tensor],
                        label_weights: Sequence[torch.Tensor], positives: torch.Tensor,
                        strides: Sequence[float]) -> torch.Tensor:
        """The loss from cross-head and teacher predictions (every level, all anchors)."""
        from mmdet.structures.bbox import bbox_overlaps
        head = self.head
        c = head.cls_out_channels
        cls_sum = s_cls[0].new_zeros(())
        kl_sum = s_cls[0].new_zeros(())
        giou_sum = s_cls[0].new_zeros(())
        weight_sum = s_cls[0].new_zeros(())
        for lvl, (sc, sr, tc, tr, anc, lw) in enumerate(
                zip(s_cls, s_reg, t_cls, t_reg, anchors, label_weights)):
            n = sc.shape[0]
            sc = sc.float().permute(0, 2, 3, 1).reshape(-1, c)
            tc = tc.detach().float().permute(0, 2, 3, 1).reshape(-1, c)
            lw = lw.reshape(-1)
            cls_sum = cls_sum + (quality_focal_kd(sc, tc, self.beta) * lw[:, None]).sum()
            weight = tc.sigmoid().max(dim=1).values * (lw > 0)
            anc = anc.reshape(1, -1, 4).expand(n, -1, -1).reshape(-1, 4)
            if self.kind == 'gfl':
                bins = head.reg_max + 1
                sr = sr.float().permute(0, 2, 3, 1).reshape(-1, 4 * bins)
                tr = tr.detach().float().permute(0, 2, 3, 1).reshape(-1, 4 * bins)
                kl = distribution_kl(sr.reshape(-1, bins), tr.reshape(-1, bins), self.tau)
                kl_sum = kl_sum + (kl.reshape(-1, 4).mean(1) * weight).sum()
                centers = head.anchor_center(anc) / strides[lvl]
                s_box = head.bbox_coder.decode(centers, head.integral(sr))
                t_box = head.bbox_coder.decode(centers, head.integral(tr))
            else:
                enc = head.bbox_coder.encode_size
                sr = sr.float().permute(0, 2, 3, 1).reshape(-1, enc)
                tr = tr.detach().float().permute(0, 2, 3, 1).reshape(-1, enc)
                s_box = head.bbox_coder.decode(anc, sr)
                t_box = head.bbox_coder.decode(anc, tr)
            giou = bbox_overlaps(s_box, t_box, mode='giou', is_aligned=True, eps=1e-6)
            giou_sum = giou_sum + ((1 - giou) * weight).sum()
            weight_sum = weight_sum + weight.sum()
        loss = self.loss_cls * cls_sum / positives
        if self.kind == 'gfl':
            reg_norm = weight_sum.clamp(min=1e-6)
            return loss + (self.loss_kl * kl_sum + self.loss_giou * giou_sum) / reg_norm
        return loss + self.loss_giou * giou_sum / positives

    def extra_repr(self) -> str:
        return (f'depth={self.depth}, kind={self.kind}, beta={self.beta}, '
                f'loss_cls={self.loss_cls}, align={self.align}')
