"""A plain image classifier: backbone -> classification head."""
from __future__ import annotations

from typing import Sequence

import torch
from mmengine.model import BaseModel
from mmengine.structures import BaseDataElement

from kd.registry import MODELS, build_kd_module

# The default preprocessor and head must be registered before they are built.
from ..data_preprocessors import ClsDataPreprocessor  # noqa: F401
from ..heads import LinearClsHead  # noqa: F401

# CIFAR-10 training-set statistics in the 0-255 scale (RGB).
CIFAR10_MEAN = (125.307, 122.961, 113.8575)
CIFAR10_STD = (51.5865, 50.847, 51.255)


@MODELS.register_module()
class ImageClassifier(BaseModel):
    """``logits = head(backbone(images))``, trained with the head's loss.

    Module names are stable so distillers can record them: ``backbone`` (a
    tuple of stage outputs), ``head.gap`` (pooled features) and ``head.fc``
    (logits).

    Args:
        backbone: config of the backbone (e.g. ``dict(type='CifarResNet')``).
        head: config of the head; ``type`` defaults to ``'LinearClsHead'``.
        data_preprocessor: config (or module) of the data preprocessor;
            defaults to ``ClsDataPreprocessor`` with CIFAR-10 mean and std.
        init_cfg: MMEngine initialisation config.
    """

    def __init__(self,
                 backbone: dict,
                 head: dict,
                 data_preprocessor: dict | torch.nn.Module | None = None,
                 init_cfg: dict | list | None = None) -> None:
        if data_preprocessor is None:
            data_preprocessor = dict(type='ClsDataPreprocessor', mean=CIFAR10_MEAN,
                                     std=CIFAR10_STD)
        if isinstance(data_preprocessor, dict):
            data_preprocessor = build_kd_module(data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = build_kd_module(backbone)
        head = dict(head)
        head.setdefault('type', 'LinearClsHead')
        self.head = build_kd_module(head)

    def extract_feat(self, inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Return the backbone features of normalised images ``(N, C, H, W)``."""
        feats = self.backbone(inputs)
        return feats if isinstance(feats, (tuple, list)) else (feats,)

    def forward(self,
                inputs: torch.Tensor,
                data_samples: Sequence[BaseDataElement] | None = None,
                mode: str = 'tensor'
                ) -> torch.Tensor | dict | list[BaseDataElement]:
        """Run the classifier in one of three modes.

        Args:
            inputs: normalised images ``(N, C, H, W)``.
            data_samples: per-image samples (``gt_label`` needed for ``'loss'``).
            mode: ``'tensor'`` returns logits ``(N, num_classes)``; ``'loss'``
                returns ``{'loss_cls': ...}``; ``'predict'`` returns the data
                samples with ``pred_score`` (softmax, ``(C,)``) and
                ``pred_label`` (int64, ``(1,)``).
        """
        feats = self.extract_feat(inputs)
        if mode == 'tensor':
            return self.head(feats)
        if mode == 'loss':
            if data_samples is None:
                raise ValueError('mode="loss" needs data_samples with gt_label')
            return self.head.loss(feats, data_samples)
        if mode == 'predict':
            return self.head.predict(feats, data_samples)
        raise ValueError(f'invalid mode "{mode}"; use "tensor", "loss" or "predict"')
