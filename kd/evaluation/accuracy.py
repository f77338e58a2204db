"""Top-k classification accuracy."""
from __future__ import annotations

from typing import Any, Sequence

import torch
from mmengine.evaluator import BaseMetric
from mmengine.structures import BaseDataElement

from kd.registry import METRICS


def _field(sample: dict | BaseDataElement, key: str, index: int) -> Any:
    """Read ``key`` from a data sample given as a dict or a data element."""
    if isinstance(sample, BaseDataElement):
        sample = sample.to_dict()
    if key not in sample:
        raise KeyError(f'Accuracy: data sample {index} has no "{key}" (keys: '
                       f'{sorted(sample)}); the model must predict "pred_score" and the '
                       'pipeline must pack "gt_label"')
    return sample[key]


@METRICS.register_module()
class Accuracy(BaseMetric):
    """Top-k accuracy in percent: a sample counts as correct for ``k`` when its
    ground-truth class is among the ``k`` highest ``pred_score`` entries.

    Results are named ``accuracy/top1``, ``accuracy/top5``, ... .  A ``k``
    larger than the number of classes counts every sample as correct.

    Args:
        topk: the values of ``k`` to report.
        collect_device: device used to gather results across processes.
        prefix: key prefix; defaults to ``'accuracy'``.
    """

    default_prefix: str | None = 'accuracy'

    def __init__(self,
                 topk: int | Sequence[int] = (1, 5),
                 collect_device: str = 'cpu',
                 prefix: str | None = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        topk = (topk, ) if isinstance(topk, int) else tuple(topk)
        if not topk or any(k < 1 for k in topk):
            raise ValueError(f'topk values must be >= 1, got {topk}')
        self.topk = topk

    def process(self, data_batch: Any, data_samples: Sequence[dict | BaseDataElement]
                ) -> None:
        """Store the score vector and the label of each predicted sample."""
        for i, sample in enumerate(data_samples):
            score = torch.as_tensor(_field(sample, 'pred_score', i)).detach().cpu()
            label = torch.as_tensor(_field(sample, 'gt_label', i)).reshape(-1)
            self.results.append(dict(pred_score=score.float().reshape(-1),
                                     gt_label=int(label[0])))

    def compute_metrics(self, results: list) -> dict[str, float]:
        """Return ``{'top1': ..., 'top5': ...}`` in percent."""
        scores = torch.stack([r['pred_score'] for r in results])
        labels = torch.tensor([r['gt_label'] for r in results], dtype=torch.long)
        metrics = {}
        for k in self.topk:
            top = scores.topk(min(k, scores.shape[1]), dim=1).indices
            correct = (top == labels[:, None]).any(dim=1)
            metrics[f'top{k}'] = correct.float().mean().item() * 100.0
        return metrics
