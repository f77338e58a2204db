"""Contrastive denoising queries for RT-DETR: mmdet's ``CdnQueryGenerator``, boxes
normalised by the batch input.

RT-DETR predicts boxes relative to the whole (padded) input, not to each image's
valid region as mmdet's DINO does, so the ground truth is normalised by
``batch_input_shape`` here (``img_shape`` in mmdet). Everything else is mmdet's:
groups ``num_dn_queries // max_gt`` (dynamic), laid out ``[pos_0, neg_0, pos_1,
neg_1, ...]`` with ``max_gt`` queries each; label noise (probability
``label_noise_scale / 2``, a uniformly drawn class); box noise (corners moved by up to
``box_noise_scale * wh / 2``: less than that for positives, between one and two times
that for negatives); the attention mask (matching queries do not see the denoising
ones, groups do not see each other). As in the official ``rtdetr_pytorch``
(``src/zoo/rtdetr/denoising.py``), a batch without any ground truth gets no
denoising queries.

Differences from the official code: mmdet clips the noisy box to ``[1e-3, 1 - 1e-3]``
before the inverse sigmoid (official: ``1e-5``), and its label embedding has
``num_classes`` rows (official: one more, a zero padding row, which the converter
drops; padded queries are zero vectors in both).
"""
from __future__ import annotations

import torch
from mmdet.models.layers import CdnQueryGenerator
from mmdet.structures import SampleList


class RTDETRCdnQueryGenerator(CdnQueryGenerator):
    """``CdnQueryGenerator`` with ground truth normalised by the batch input shape."""

    def __call__(self, batch_data_samples: SampleList) -> tuple:
        """Denoising label queries, box queries (inverse-sigmoid cxcywh), mask and meta.

        Returns ``(None, None, None, None)`` when the batch holds no ground truth.
        """
        labels, boxes = [], []
        for sample in batch_data_samples:
            h, w = sample.metainfo.get('batch_input_shape', sample.img_shape)
            gt = sample.gt_instances.bboxes
            boxes.append(gt / gt.new_tensor([w, h, w, h]))
            labels.append(sample.gt_instances.labels)
        counts = [len(b) for b in boxes]
        if max(counts, default=0) == 0:
            return None, None, None, None
        max_gt = max(counts)
        groups = self.get_num_groups(max_gt)
        label_query = self.generate_dn_label_query(torch.cat(labels), groups)
        box_query = self.generate_dn_bbox_query(torch.cat(boxes), groups)
        batch_idx = torch.cat([torch.full_like(t.long(), i) for i, t in enumerate(labels)])
        label_query, box_query = self.collate_dn_queries(
            label_query, box_query, batch_idx, len(batch_data_samples), groups)
        mask = self.generate_dn_mask(max_gt, groups, device=label_query.device)
        meta = dict(num_denoising_queries=int(max_gt * 2 * groups),
                    num_denoising_groups=groups, max_num_target=max_gt)
        return label_query, box_query, mask, meta
