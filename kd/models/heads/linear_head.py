"""Classification head: global average pooling, one linear layer, cross-entropy."""
from __future__ import annotations

from typing import Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmengine.structures import BaseDataElement

from kd.registry import MODELS

Features = Union[torch.Tensor, Sequence[torch.Tensor]]


def gt_labels_of(data_samples: Sequence[BaseDataElement], device: torch.device) -> torch.Tensor:
    """Collect the ``gt_label`` of each data sample into a ``(N,)`` int64 tensor.

    Args:
        data_samples: samples carrying ``gt_label`` (an int or a tensor of one element).
        device: device of the returned tensor.

    Raises:
        KeyError: a sample has no ``gt_label``.
    """
    labels = []
    for i, sample in enumerate(data_samples):
        if 'gt_label' not in sample:
            raise KeyError(f'data sample {i} has no "gt_label"; the loss needs labels '
                           '(is PackClsInputs in the training pipeline?)')
        label = torch.as_tensor(sample.gt_label)
        if label.numel() != 1:
            raise ValueError(f'data sample {i}: expected one class index as gt_label, '
                             f'got shape {tuple(label.shape)}')
        labels.append(label.reshape(1))
    return torch.cat(labels).to(device=device, dtype=torch.long)


@MODELS.register_module()
class LinearClsHead(BaseModule):
    """``logits = fc(gap(x))`` where ``x`` is the last backbone feature.

    Sub-modules are named so that recorders can capture them: ``gap`` outputs
    the pooled ``(N, C, 1, 1)`` features, ``fc`` outputs the logits.

    Args:
        num_classes: number of classes.
        in_channels: channels of the input feature map.
        loss_weight: factor on the cross-entropy loss.
        label_smoothing: label smoothing of the cross-entropy (0 disables it).
        init_cfg: MMEngine initialisation config.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 loss_weight: float = 1.0,
                 label_smoothing: float = 0.0,
                 init_cfg: dict | list | None = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if num_classes <= 0:
            raise ValueError(f'num_classes must be positive, got {num_classes}')
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.loss_weight = loss_weight
        self.label_smoothing = label_smoothing
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(in_channels, num_classes)

    def forward(self, feats: Features) -> torch.Tensor:
        """Return logits ``(N, num_classes)``.

        Args:
            feats: a feature map ``(N, C, H, W)``, already pooled features
                ``(N, C)``, or a tuple of them (the last one is used).
        """
        x = feats[-1] if isinstance(feats, (tuple, list)) else feats
        if x.dim() == 4:
            x = self.gap(x)
        return self.fc(torch.flatten(x, 1))

    def loss(self, feats: Features, data_samples: Sequence[BaseDataElement]) -> dict:
        """Return ``{'loss_cls': loss_weight * CE(logits, gt_label)}``."""
        logits = self(feats)
        return self.loss_by_logits(logits, data_samples)

    def loss_by_logits(self, logits: torch.Tensor,
                       data_samples: Sequence[BaseDataElement]) -> dict:
        """The cross-entropy loss of given logits against the samples' labels."""
        labels = gt_labels_of(data_samples, logits.device)
        loss = F.cross_entropy(logits, labels, label_smoothing=self.label_smoothing)
        return dict(loss_cls=self.loss_weight * loss)

    def predict(self, feats: Features,
                data_samples: Sequence[BaseDataElement] | None = None
                ) -> list[BaseDataElement]:
        """Return data samples with ``pred_score`` and ``pred_label`` set."""
        return self.predict_by_logits(self(feats), data_samples)

    @staticmethod
    def predict_by_logits(logits: torch.Tensor,
                          data_samples: Sequence[BaseDataElement] | None = None
                          ) -> list[BaseDataElement]:
        """Attach softmax scores ``(C,)`` and the arg-max label ``(1,)`` to each sample.

        Args:
            logits: ``(N, C)`` logits.
            data_samples: the batch's samples; new empty ones are made if None.
        """
        scores = F.softmax(logits.detach(), dim=1)
        labels = scores.argmax(dim=1, keepdim=True)
        if data_samples is None:
            data_samples = [BaseDataElement() for _ in range(logits.shape[0])]
        elif len(data_samples) != logits.shape[0]:
            raise ValueError(f'{len(data_samples)} data samples for a batch of '
                             f'{logits.shape[0]} logits')
        for sample, score, label in zip(data_samples, scores, labels):
            sample.pred_score = score
            sample.pred_label = label
        return list(data_samples)
