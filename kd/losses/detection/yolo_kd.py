"""Objectness-scaled distillation of YOLOv3 raw head outputs.

Paper: R. Mehta, C. Ozturk. "Object detection at 200 Frames Per Second".
ECCV Workshops 2018 (arXiv:1805.06361). Reference implementation followed:
PaddleDetection's ``DistillYOLOv3Loss`` (``ppdet/slim/``).

A one-stage detector's dense outputs are mostly background, and distilling
every box and class output of every anchor would teach the student the
teacher's noise. The paper therefore scales the box and class distillation
terms of each anchor by the teacher's objectness probability ``σ(t_obj)``, and
distils objectness everywhere. For a YOLOv3 head output of one level
``(N, A·(5+C), H, W)`` (channels per anchor: x, y, w, h, objectness, C class
logits; MMDetection's ``YOLOV3Head`` order) and ``g = σ(t_obj)`` (teacher,
no gradient)::

    reg = g · [BCE(s_x, σ(t_x)) + BCE(s_y, σ(t_y)) + d(s_w, t_w) + d(s_h, t_h)]
    cls = g · BCE(s_c, σ(t_c))                       (each of the C classes)
    obj = BCE(s_obj, σ(t_obj))                       (obj_target='soft')
        | BCE(s_obj, 1[σ(t_obj) > 0.5])              (obj_target='hard', PaddleDetection)

``BCE(x, p)`` is the binary cross-entropy of the logit ``x`` with the soft
target ``p`` (x and y are sigmoid offsets in YOLOv3, so they are distilled like
probabilities); ``d`` is ``|·|`` (``wh_loss='l1'``, PaddleDetection) or the
squared difference (``'l2'``, the paper's L2 box term) on the raw log-scale
w, h outputs.

Reduction (``reduction='mean'``, PaddleDetection): ``reg`` and ``obj`` are
averaged over the ``N·A·H·W`` anchors, ``cls`` over ``N·A·H·W·C`` entries, per
level; the levels are summed. ``reduction='sum'`` sums everything over the
batch instead, like MMDetection's YOLOv3 task losses (``reduction='sum'``)::

    L = loss_weight · Σ_levels (reg_weight·reg + cls_weight·cls + obj_weight·obj)

PaddleDetection uses ``reduction='mean'`` with ``loss_weight=1000``.

Minimum: the BCE terms are not zero at ``s = t`` (they equal the teacher's
binary entropy) but their gradient is (``σ(s) - σ(t)``); the ``d`` terms are
zero there. So the loss is minimised, with zero gradient, where the student
reproduces the teacher's outputs.

Differences from the paper: its objectness term uses the teacher's objectness
as the target (``'soft'``, the default here) and its box term is an L2 on box
coordinates; PaddleDetection, whose term shapes are followed, thresholds the
teacher's objectness (``'hard'``) and uses BCE on x, y and L1 on w, h. The
ground-truth terms of the paper's combined losses are the student's own task
losses here.

Inputs: one level or a list of levels (record ``dict(source='bbox_head',
index=0)`` of both YOLOv3 heads, which gives the tuple of per-level maps; the
loss sums the levels, so ``levelwise`` may be either). Teacher and student must
have the same anchors, strides and classes (equal shapes).

YOLOX (``layout='yolox'``): MMDetection's ``YOLOXHead.forward`` returns
``(cls_scores, bbox_preds, objectnesses)``, three lists of per-level maps
``(N, C, H, W)``, ``(N, 4, H, W)`` and ``(N, 1, H, W)``; record the whole
output (``dict(source='bbox_head')``, ``levelwise=False``). Each level is one
anchor per location (``num_anchors=1``) with the same terms, except that x and y
are distilled with ``d`` like w and h: YOLOX decodes them as ``x·stride + prior``
(raw offsets, no sigmoid), so a BCE on ``σ(x)`` would not be the right
distance. Classes are sigmoid logits in both heads. The gate is the teacher's
objectness probability as for YOLOv3.

Args:
    layout: ``'yolov3'`` (one ``(N, A·(5+C), H, W)`` map per level) or
        ``'yolox'`` (the ``(cls_scores, bbox_preds, objectnesses)`` tuple).
    num_anchors: anchors per location ``A`` (3 in YOLOv3; must be 1 for YOLOX).
    num_classes: ``C``; checked against the channels when given.
    wh_loss: ``'l1'`` or ``'l2'``.
    obj_target: ``'soft'`` or ``'hard'``.
    reduction: ``'mean'`` or ``'sum'``.
    reg_weight, cls_weight, obj_weight: weights of the three terms.
    loss_weight: factor applied to the whole loss.
"""
from __future__ import annotations

from typing import Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from kd.registry import MODELS

Levels = Union[torch.Tensor, Sequence[torch.Tensor]]


@MODELS.register_module()
class YOLOObjectnessKDLoss(nn.Module):
    """Teacher-objectness-gated distillation of YOLOv3 outputs (see module doc)."""

    def __init__(self, num_anchors: int = 3, num_classes: int | None = None,
                 layout: str = 'yolov3',
                 wh_loss: str = 'l1', obj_target: str = 'soft', reduction: str = 'mean',
                 reg_weight: float = 1.0, cls_weight: float = 1.0, obj_weight: float = 1.0,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if layout not in ('yolov3', 'yolox'):
            raise ValueError(f"layout must be 'yolov3' or 'yolox', got {layout!r}")
        if layout == 'yolox' and num_anchors != 1:
            raise ValueError(f"layout='yolox' has one prediction per location: "
                             f'num_anchors must be 1, got {num_anchors}')
        if num_anchors < 1:
            raise ValueError(f'num_anchors must be >= 1, got {num_anchors}')
        if num_classes is not None and num_classes < 1:
            raise ValueError(f'num_classes must be >= 1, got {num_classes}')
        if wh_loss not in ('l1', 'l2'):
            raise ValueError(f"wh_loss must be 'l1' or 'l2', got {wh_loss!r}")
        if obj_target not in ('soft', 'hard'):
            raise ValueError(f"obj_target must be 'soft' or 'hard', got {obj_target!r}")
        if reduction not in ('mean', 'sum'):
            raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}")
        self.layout = layout
        self.num_anchors = num_anchors
        self.num_classes = num_classes
        self.wh_loss = wh_loss
        self.obj_target = obj_target
        self.reduction = reduction
        self.reg_weight = reg_weight
        self.cls_weight = cls_weight
        self.obj_weight = obj_weight
        self.loss_weight = loss_weight

    def _split(self, x: torch.Tensor, side: str, level: int) -> torch.Tensor:
        if x.dim() != 4:
            raise ValueError(f'YOLOObjectnessKDLoss: level {level}: {side} output '
                             f'{tuple(x.shape)} is not (N, A*(5+C), H, W)')
        n, c, h, w = x.shape
        if c % self.num_anchors or c // self.num_anchors < 6:
            raise ValueError(f'YOLOObjectnessKDLoss: level {level}: {c} channels are not '
                             f'num_anchors={self.num_anchors} blocks of 5 + num_classes')
        attrib = c // self.num_anchors
        if self.num_classes is not None and attrib != 5 + self.num_classes:
            raise ValueError(f'YOLOObjectnessKDLoss: level {level}: {c} channels = '
                             f'{self.num_anchors} x {attrib}, expected 5 + num_classes = '
                             f'{5 + self.num_classes} per anchor')
        return x.reshape(n, self.num_anchors, attrib, h, w)

    def _reduce(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean() if self.reduction == 'mean' else x.sum()

    def level_loss(self, s: torch.Tensor, t: torch.Tensor, level: int = 0) -> torch.Tensor:
        s = self._split(s.float(), 'student', level)
        t = self._split(t.detach().float(), 'teacher', level)
        gate = torch.sigmoid(t[:, :, 4])                                  # (N, A, H, W)
        if self.layout == 'yolox':   # raw offsets: the same distance as w, h
            diff = s[:, :, 0:4] - t[:, :, 0:4]
            xy = s.new_zeros(())
        else:
            xy = F.binary_cross_entropy_with_logits(
                s[:, :, 0:2], torch.sigmoid(t[:, :, 0:2]), reduction='none').sum(2)
            diff = s[:, :, 2:4] - t[:, :, 2:4]
        wh = (diff.abs() if self.wh_loss == 'l1' else diff.pow(2)).sum(2)
        reg = self._reduce((xy + wh) * gate)
        cls = self._reduce(F.binary_cross_entropy_with_logits(
            s[:, :, 5:], torch.sigmoid(t[:, :, 5:]), reduction='none') * gate[:, :, None])
        obj_t = gate if self.obj_target == 'soft' else (t[:, :, 4] > 0).float()
        obj = self._reduce(F.binary_cross_entropy_with_logits(s[:, :, 4], obj_t,
                                                               reduction='none'))
        return self.reg_weight * reg + self.cls_weight * cls + self.obj_weight * obj

    @staticmethod
    def yolox_levels(outputs, side: str) -> list[torch.Tensor]:
        """``(cls_scores, bbox_preds, objectnesses)`` -> one ``(N, 5+C, H, W)`` map per level.

        Channels in YOLOv3's order: x, y, w, h, objectness, classes.
        """
        if not isinstance(outputs, (tuple, list)) or len(outputs) != 3 or \
                isinstance(outputs[0], torch.Tensor):
            raise ValueError(
                f"YOLOObjectnessKDLoss(layout='yolox'): the {side} record must be YOLOXHead's "
                '(cls_scores, bbox_preds, objectnesses), three lists of levels: record '
                "dict(source='bbox_head') with levelwise=False")
        cls_scores, bbox_preds, objectnesses = outputs
        if not len(cls_scores) == len(bbox_preds) == len(objectnesses):
            raise ValueError(f"YOLOObjectnessKDLoss(layout='yolox'): {side} levels differ: "
                             f'{len(cls_scores)} / {len(bbox_preds)} / {len(objectnesses)}')
        levels = []
        for i, (c, b, o) in enumerate(zip(cls_scores, bbox_preds, objectnesses)):
            if b.shape[1] != 4 or o.shape[1] != 1:
                raise ValueError(f"YOLOObjectnessKDLoss(layout='yolox'): level {i}: {side} "
                                 f'bbox {tuple(b.shape)} / objectness {tuple(o.shape)} are '
                                 'not (N, 4, H, W) / (N, 1, H, W)')
            levels.append(torch.cat([b, o, c], dim=1))
        return levels

    def forward(self, student: Levels, teacher: Levels) -> torch.Tensor:
        if self.layout == 'yolox':
            s_levels = self.yolox_levels(student, 'student')
            t_levels = self.yolox_levels(teacher, 'teacher')
        else:
            s_levels = [student] if isinstance(student, torch.Tensor) else list(student)
            t_levels = [teacher] if isinstance(teacher, torch.Tensor) else list(teacher)
        if len(s_levels) != len(t_levels):
            raise ValueError(f'YOLOObjectnessKDLoss: {len(s_levels)} student levels vs '
                             f'{len(t_levels)} teacher levels')
        total = s_levels[0].new_zeros((), dtype=torch.float32)
        for i, (s, t) in enumerate(zip(s_levels, t_levels)):
            if s.shape != t.shape:
                raise ValueError(f'YOLOObjectnessKDLoss: level {i}: student {tuple(s.shape)} '
                                 f'and teacher {tuple(t.shape)} differ; the heads must share '
                                 'anchors, strides and num_classes.')
            total = total + self.level_loss(s, t, i)
        return self.loss_weight * total

    def extra_repr(self) -> str:
        return (f'layout={self.layout!r}, num_anchors={self.num_anchors}, '
                f'num_classes={self.num_classes}, '
                f'wh_loss={self.wh_loss!r}, obj_target={self.obj_target!r}, '
                f'reduction={self.reduction!r}, loss_weight={self.loss_weight}')
