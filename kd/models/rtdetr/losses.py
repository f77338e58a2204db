"""The varifocal classification loss of RT-DETR (IoU-aware classification).

Zhao et al. "DETRs Beat YOLOs on Real-time Object Detection", CVPR 2024, and the
varifocal loss of Zhang et al. "VarifocalNet: An IoU-aware Dense Object Detector",
CVPR 2021. Checked against ``loss_labels_vfl`` of the official ``rtdetr_pytorch``
criterion (``src/zoo/rtdetr/rtdetr_criterion.py``).

For logits ``x`` (one per query and class), the one-hot matched class ``o`` and the
IoU target ``t = IoU(matched box, gt box) * o`` (detached):

    w    = alpha * sigmoid(x).detach() ** gamma * (1 - o) + t
    loss = sum(w * BCE(x, t)) / avg_factor

so an unmatched (query, class) is a down-weighted negative, and a matched one is
pulled towards its box IoU rather than towards 1. The weight of a matched class is
its IoU alone (``(1 - o) = 0``): unlike mmdet's ``VarifocalLoss``, a matched pair with
IoU 0 adds nothing, as in the official code.
"""
from __future__ import annotations

import torch.nn as nn
import torch.nn.functional as F
from mmdet.registry import MODELS
from torch import Tensor


def rtdetr_varifocal_loss(logits: Tensor, onehot: Tensor, iou_target: Tensor,
                          alpha: float = 0.75, gamma: float = 2.0) -> Tensor:
    """Element-wise varifocal loss (not reduced).

    Args:
        logits: class logits, any shape ``(..., num_classes)``.
        onehot: 1 at the matched class of a matched query, 0 elsewhere (same shape).
        iou_target: the IoU target ``t`` (0 where ``onehot`` is 0; same shape).
        alpha: weight of the negatives.
        gamma: focusing exponent on the predicted probability of the negatives.
    """
    onehot = onehot.to(logits.dtype)
    target = iou_target.to(logits.dtype)
    prob = logits.sigmoid().detach()
    weight = alpha * prob.pow(gamma) * (1 - onehot) + target
    return F.binary_cross_entropy_with_logits(logits, target, weight=weight, reduction='none')


@MODELS.register_module()
class RTDETRVarifocalLoss(nn.Module):
    """RT-DETR's varifocal loss, summed and divided by the number of boxes.

    Args:
        alpha: weight of the negatives (0.75 in RT-DETR).
        gamma: focusing exponent (2.0).
        loss_weight: factor on the loss (1.0 in RT-DETR).
    """

    def __init__(self, alpha: float = 0.75, gamma: float = 2.0, loss_weight: float = 1.0):
        super().__init__()
        self.alpha, self.gamma, self.loss_weight = alpha, gamma, loss_weight

    def forward(self, logits: Tensor, onehot: Tensor, iou_target: Tensor,
                avg_factor: float) -> Tensor:
        """The loss of all queries and classes, divided by ``avg_factor`` (the boxes)."""
        loss = rtdetr_varifocal_loss(logits, onehot, iou_target, self.alpha, self.gamma)
        return self.loss_weight * loss.sum() / max(float(avg_factor), 1e-6)
