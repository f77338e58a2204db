"""A thin wrapper that makes any ``timm`` model a kd backbone (a tuple of stage features)."""
from __future__ import annotations

from typing import Any, Sequence

import torch
from mmengine.model import BaseModule

from kd.registry import MODELS


def _import_timm():
    try:
        import timm
    except ImportError as err:
        raise ImportError(
            'TimmBackbone needs the `timm` package, which is not installed in this '
            'environment. Install it with `pip install timm` (kd does not depend on it), or '
            'use one of the built-in backbones: CifarResNet, WideResNet, CifarVGG, '
            'CifarMobileNetV2, CifarShuffleNetV1, CifarShuffleNetV2.') from err
    return timm


@MODELS.register_module()
class TimmBackbone(BaseModule):
    """``timm.create_model(model_name, features_only=True, ...)`` returning a tuple.

    The wrapped network is the sub-module ``model`` (record ``backbone.model.<name>``
    for its inner layers); ``forward`` returns its feature maps as a tuple, so
    ``ImageClassifier`` + ``LinearClsHead`` and ``dict(source='backbone', index=i)``
    recorders work as with the built-in backbones.

    Args:
        model_name: a timm model name (``'resnet18'``, ``'convnext_tiny'``, ...).
        pretrained: load timm's pretrained weights (downloads them unless they
            are cached; off by default).
        out_indices: which feature levels to return (timm's ``out_indices``);
            ``None`` keeps timm's default (every level).
        in_channels: channels of the input image (timm's ``in_chans``).
        init_cfg: MMEngine initialisation config.
        **kwargs: other ``timm.create_model`` arguments (``output_stride``,
            ``drop_path_rate``, ...).

    Attributes:
        out_channels: channels of each returned feature map, in order.
        reductions: stride of each returned feature map.

    Raises:
        ImportError: ``timm`` is not installed (the message says how to get it).
    """

    def __init__(self,
                 model_name: str,
                 pretrained: bool = False,
                 out_indices: Sequence[int] | None = None,
                 in_channels: int = 3,
                 init_cfg: dict | list | None = None,
                 **kwargs: Any) -> None:
        timm = _import_timm()
        super().__init__(init_cfg=init_cfg)
        if 'features_only' in kwargs:
            raise ValueError('TimmBackbone always passes features_only=True to timm')
        if out_indices is not None:
            kwargs['out_indices'] = tuple(out_indices)
        self.model = timm.create_model(model_name, pretrained=pretrained, features_only=True,
                                       in_chans=in_channels, **kwargs)
        self.model_name = model_name
        self.out_channels = tuple(self.model.feature_info.channels())
        self.reductions = tuple(self.model.feature_info.reduction())

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Return the selected feature maps of ``(N, C, H, W)`` images as a tuple."""
        return tuple(self.model(x))
