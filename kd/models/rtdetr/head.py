"""RT-DETR's prediction head and its losses.

Zhao et al. "DETRs Beat YOLOs on Real-time Object Detection", CVPR 2024; behaviour
read from ``RTDETRTransformer`` (heads), ``SetCriterion`` and ``HungarianMatcher`` of
the official ``rtdetr_pytorch`` (``src/zoo/rtdetr/``).

Per decoder layer ``i``: class logits ``cls_branches[i](h_i)`` and boxes
``sigmoid(reg_branches[i](h_i) + inverse_sigmoid(ref_i))`` (``cx, cy, w, h``,
relative to the batch input). Losses, each divided by the number of ground-truth
boxes in the batch (averaged over ranks):

* matching queries of every decoder layer and the encoder's top-k proposals:
  one-to-one Hungarian matching per image (mmdet's ``HungarianAssigner``; RT-DETR's
  costs are focal 2, L1 5, GIoU 2), then the varifocal loss on all queries
  (``RTDETRVarifocalLoss``, IoU targets), L1 (weight 5) and GIoU (weight 2) on the
  matched boxes;
* denoising queries of every decoder layer: the positive query ``j`` of group ``g``
  is assigned to ground truth ``j`` (no matching), negatives are background; the
  number of boxes is multiplied by the number of groups.

Logged as ``loss_cls``/``loss_bbox``/``loss_iou`` (last layer), ``d{i}.loss_*``
(earlier layers), ``enc_loss_*`` (encoder proposals), ``dn_loss_*`` and
``d{i}.dn_loss_*`` (denoising).
"""
from __future__ import annotations

import torch
import torch.nn as nn
from mmdet.models.layers import inverse_sigmoid
from mmdet.models.layers.transformer.utils import MLP
from mmdet.registry import MODELS, TASK_UTILS
from mmdet.structures import SampleList
from mmdet.structures.bbox import bbox_cxcywh_to_xyxy, bbox_overlaps, bbox_xyxy_to_cxcywh
from mmdet.utils import reduce_mean
from mmengine.model import BaseModule, bias_init_with_prob
from mmengine.structures import InstanceData
from torch import Tensor


def dn_assignment(num_gts: list[int], num_groups: int, max_num_target: int,
                  device=None) -> list[tuple[Tensor, Tensor]]:
    """(query index, gt index) of the positive denoising queries of each image.

    Group ``g`` occupies queries ``[2 g M, 2 (g + 1) M)`` (``M = max_num_target``),
    positives first: ground truth ``j`` is query ``2 g M + j``.
    """
    out = []
    for n in num_gts:
        gt = torch.arange(n, device=device)
        query = (gt[None] + 2 * max_num_target * torch.arange(num_groups, device=device)[:, None])
        out.append((query.flatten(), gt.repeat(num_groups)))
    return out


@MODELS.register_module()
class RTDETRHead(BaseModule):
    """Class and box branches of RT-DETR (decoder layers and encoder proposals), losses, predict.

    Args:
        num_classes: object classes.
        embed_dims: width of the decoder (256).
        num_pred_layer: decoder layers (one branch pair each).
        loss_cls: classification loss (``RTDETRVarifocalLoss``).
        loss_bbox: L1 box loss on normalised ``cxcywh`` (weight 5).
        loss_iou: GIoU loss (weight 2).
        train_cfg: ``dict(assigner=dict(type='HungarianAssigner', match_costs=[...]))``.
        test_cfg: ``dict(max_per_img=300)``: the top-scoring (query, class) pairs kept.
        init_cfg: MMEngine initialisation config.
    """

    def __init__(self, num_classes: int, embed_dims: int = 256, num_pred_layer: int = 6,
                 loss_cls: dict | None = None, loss_bbox: dict | None = None,
                 loss_iou: dict | None = None, train_cfg: dict | None = None,
                 test_cfg: dict | None = None, init_cfg: dict | None = None):
        super().__init__(init_cfg=init_cfg)
        self.num_classes = num_classes
        self.embed_dims = embed_dims
        self.num_pred_layer = num_pred_layer
        self.cls_branches = nn.ModuleList(nn.Linear(embed_dims, num_classes)
                                          for _ in range(num_pred_layer))
        self.reg_branches = nn.ModuleList(MLP(embed_dims, embed_dims, 4, 3)
                                          for _ in range(num_pred_layer))
        self.enc_cls_branch = nn.Linear(embed_dims, num_classes)
        self.enc_reg_branch = MLP(embed_dims, embed_dims, 4, 3)
        self.loss_cls = MODELS.build(loss_cls or dict(type='RTDETRVarifocalLoss'))
        self.loss_bbox = MODELS.build(loss_bbox or dict(type='L1Loss', loss_weight=5.0))
        self.loss_iou = MODELS.build(loss_iou or dict(type='GIoULoss', loss_weight=2.0))
        self.train_cfg = train_cfg or {}
        self.test_cfg = test_cfg or {}
        self.assigner = TASK_UTILS.build(self.train_cfg['assigner']) \
            if 'assigner' in self.train_cfg else None

    def init_weights(self) -> None:
        super().init_weights()
        bias = bias_init_with_prob(0.01)
        for cls, reg in zip([*self.cls_branches, self.enc_cls_branch],
                            [*self.reg_branches, self.enc_reg_branch]):
            nn.init.constant_(cls.bias, bias)
            nn.init.constant_(reg.layers[-1].weight, 0.0)
            nn.init.constant_(reg.layers[-1].bias, 0.0)

    def forward(self, hidden_states: list[Tensor] | Tensor,
                references: list[Tensor]) -> tuple[Tensor, Tensor]:
        """Class logits ``(layers, bs, nq, classes)`` and boxes ``(layers, bs, nq, 4)``."""
        logits, boxes = [], []
        for i, h in enumerate(hidden_states):
            logits.append(self.cls_branches[i](h))
            boxes.append((self.reg_branches[i](h) + inverse_sigmoid(references[i])).sigmoid())
        return torch.stack(logits), torch.stack(boxes)

    # ------------------------------------------------------------------ targets
    @staticmethod
    def _ground_truth(samples: SampleList) -> list[tuple[Tensor, Tensor]]:
        """Labels and boxes (``cxcywh`` relative to the batch input) of each image."""
        out = []
        for s in samples:
            h, w = s.metainfo.get('batch_input_shape', s.img_shape)
            gt = s.gt_instances
            factor = gt.bboxes.new_tensor([w, h, w, h])
            out.append((gt.labels, bbox_xyxy_to_cxcywh(gt.bboxes / factor)))
        return out

    @torch.no_grad()
    def match(self, logits: Tensor, boxes: Tensor,
              gts: list[tuple[Tensor, Tensor]]) -> list[tuple[Tensor, Tensor]]:
        """Hungarian matching per image: (query index, gt index) pairs.

        The assigner sees boxes in a unit image (``img_shape=(1, 1)``): the L1 cost is
        on normalised ``cxcywh`` as in RT-DETR; IoU costs do not depend on the scale.
        """
        if self.assigner is None:
            raise RuntimeError('RTDETRHead: no train_cfg.assigner configured for the loss')
        out = []
        for b, (labels, gt_boxes) in enumerate(gts):
            pred = InstanceData(scores=logits[b], bboxes=bbox_cxcywh_to_xyxy(boxes[b]))
            gt = InstanceData(labels=labels, bboxes=bbox_cxcywh_to_xyxy(gt_boxes))
            result = self.assigner.assign(pred, gt, img_meta=dict(img_shape=(1, 1)))
            query = torch.nonzero(result.gt_inds > 0, as_tuple=False).squeeze(-1)
            out.append((query, result.gt_inds[query] - 1))
        return out

    def layer_losses(self, logits: Tensor, boxes: Tensor,
                     indices: list[tuple[Tensor, Tensor]], gts: list[tuple[Tensor, Tensor]],
                     num_boxes: float) -> tuple[Tensor, Tensor, Tensor]:
        """VFL over all queries, L1 and GIoU over the assigned ones, for one set of outputs."""
        batch = torch.cat([torch.full_like(q, b) for b, (q, _) in enumerate(indices)])
        query = torch.cat([q for q, _ in indices])
        tgt_labels = torch.cat([gts[b][0][g] for b, (_, g) in enumerate(indices)])
        tgt_boxes = torch.cat([gts[b][1][g] for b, (_, g) in enumerate(indices)])
        src_boxes = boxes[batch, query]
        onehot = torch.zeros_like(logits)
        onehot[batch, query, tgt_labels] = 1.0
        iou = bbox_overlaps(bbox_cxcywh_to_xyxy(src_boxes), bbox_cxcywh_to_xyxy(tgt_boxes),
                            mode='iou', is_aligned=True).detach()
        iou_target = torch.zeros_like(logits)
        iou_target[batch, query, tgt_labels] = iou.to(logits.dtype)
        loss_cls = self.loss_cls(logits, onehot, iou_target, avg_factor=num_boxes)
        loss_bbox = self.loss_bbox(src_boxes, tgt_boxes, avg_factor=num_boxes)
        loss_iou = self.loss_iou(bbox_cxcywh_to_xyxy(src_boxes), bbox_cxcywh_to_xyxy(tgt_boxes),
                                 avg_factor=num_boxes)
        return loss_cls, loss_bbox, loss_iou

    # ------------------------------------------------------------------- losses
    def loss(self, hidden_states: list[Tensor], references: list[Tensor],
             enc_outputs_class: Tensor, enc_outputs_coord: Tensor,
             batch_data_samples: SampleList, dn_meta: dict | None = None) -> dict:
        """All RT-DETR losses (see the module docstring)."""
        all_logits, all_boxes = self(hidden_states, references)
        gts = self._ground_truth(batch_data_samples)
        total = sum(len(labels) for labels, _ in gts)
        num_boxes = reduce_mean(all_logits.new_tensor(float(total))).clamp(min=1).item()
        num_dn = dn_meta['num_denoising_queries'] if dn_meta else 0
        dn_logits, logits = all_logits[:, :, :num_dn], all_logits[:, :, num_dn:]
        dn_boxes, boxes = all_boxes[:, :, :num_dn], all_boxes[:, :, num_dn:]
        losses = {}
        last = self.num_pred_layer - 1

        def put(prefix: str, values: tuple[Tensor, Tensor, Tensor]) -> None:
            for name, value in zip(('loss_cls', 'loss_bbox', 'loss_iou'), values):
                losses[prefix + name] = value

        for i in range(len(logits)):
            indices = self.match(logits[i], boxes[i], gts)
            put('' if i == last else f'd{i}.',
                self.layer_losses(logits[i], boxes[i], indices, gts, num_boxes))
        indices = self.match(enc_outputs_class, enc_outputs_coord, gts)
        put('enc_', self.layer_losses(enc_outputs_class, enc_outputs_coord, indices, gts,
                                      num_boxes))
        if num_dn:
            groups = dn_meta['num_denoising_groups']
            indices = dn_assignment([len(labels) for labels, _ in gts], groups,
                                    dn_meta['max_num_target'], device=all_logits.device)
            for i in range(len(dn_logits)):
                put('dn_' if i == last else f'd{i}.dn_',
                    self.layer_losses(dn_logits[i], dn_boxes[i], indices, gts,
                                      num_boxes * groups))
        return losses

    # ------------------------------------------------------------------ predict
    def predict(self, hidden_states: list[Tensor], references: list[Tensor],
                batch_data_samples: SampleList, rescale: bool = True,
                **kwargs) -> list[InstanceData]:
        """Top ``max_per_img`` (query, class) pairs of the last layer, in image pixels."""
        last = len(hidden_states) - 1
        logits = self.cls_branches[last](hidden_states[last])
        boxes = (self.reg_branches[last](hidden_states[last])
                 + inverse_sigmoid(references[last])).sigmoid()
        k = min(int(self.test_cfg.get('max_per_img', 300)), logits.shape[1] * logits.shape[2])
        results = []
        for b, sample in enumerate(batch_data_samples):
            scores, index = logits[b].sigmoid().flatten().topk(k)
            labels = index % self.num_classes
            query = torch.div(index, self.num_classes, rounding_mode='floor')
            h, w = sample.metainfo.get('batch_input_shape', sample.img_shape)
            bboxes = bbox_cxcywh_to_xyxy(boxes[b, query]) * boxes.new_tensor([w, h, w, h])
            img_h, img_w = sample.img_shape
            bboxes[:, 0::2] = bboxes[:, 0::2].clamp(0, img_w)
            bboxes[:, 1::2] = bboxes[:, 1::2].clamp(0, img_h)
            if rescale and 'scale_factor' in sample.metainfo:
                bboxes = bboxes / bboxes.new_tensor(sample.scale_factor).repeat(2)
            results.append(InstanceData(scores=scores, labels=labels, bboxes=bboxes))
        return results
