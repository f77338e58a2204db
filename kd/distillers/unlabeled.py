"""Unlabeled images in a batch (kd.SplitLabels, kd.UnlabeledImageDataset): flags, pseudo-labels."""
from __future__ import annotations

from typing import Any

import torch

PSEUDO_LABEL_KEYS = frozenset({'score_thr', 'loss_weight'})


def unlabeled_flags(data_samples: list | None) -> list[bool] | None:
    """Per-sample ``metainfo['unlabeled']``, or ``None`` for samples without metainfo."""
    if not data_samples or not hasattr(data_samples[0], 'metainfo'):
        return None
    return [bool(s.metainfo.get('unlabeled', False)) for s in data_samples]


def check_pseudo_labels(cfg: dict | None) -> dict | None:
    """A copy of ``pseudo_labels=dict(score_thr=0.5, loss_weight=1.0)``, validated."""
    if cfg is None:
        return None
    unknown = set(cfg) - PSEUDO_LABEL_KEYS
    if unknown:
        raise KeyError(f'pseudo_labels has unknown keys {sorted(unknown)}; use '
                       'dict(score_thr=0.5, loss_weight=1.0)')
    if not 0 <= float(cfg.get('score_thr', 0.5)) <= 1:
        raise ValueError(f'pseudo_labels.score_thr must be in [0, 1], got {cfg["score_thr"]}')
    return dict(cfg)


@torch.no_grad()
def pseudo_label(teacher_side: Any, inputs: torch.Tensor, data_samples: list,
                 score_thr: float) -> list:
    """Copies of ``data_samples`` whose ground truth is the teacher's detections.

    The teacher predicts in the student's input frame (``rescale=False``);
    detections with a score >= ``score_thr`` become ``gt_instances``.
    """
    from mmengine.structures import InstanceData
    preds = teacher_side.predict(inputs, [s.clone() for s in data_samples])
    out = []
    for sample, pred in zip(data_samples, preds):
        keep = pred.pred_instances.scores >= score_thr
        new = sample.clone()
        new.gt_instances = InstanceData(bboxes=pred.pred_instances.bboxes[keep].detach(),
                                        labels=pred.pred_instances.labels[keep].detach())
        new.set_metainfo(dict(pseudo_labeled=True))
        out.append(new)
    return out
