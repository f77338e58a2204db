"""A shallow exit classifier (bottleneck convolutions, pooling, linear) for self-distillation."""
from __future__ import annotations

from mmengine.model import BaseModule
from torch import Tensor, nn

from kd.registry import MODELS


@MODELS.register_module()
class ExitClassifierConnector(BaseModule):
    """Turn a shallow feature map into class logits, as BYOT's auxiliary classifiers.

    ``num_downsamples`` blocks of (3x3 conv stride 2, BatchNorm, ReLU), each
    doubling the channels (capped at ``max_channels``), then global average
    pooling and a linear classifier. Zhang et al. (ICCV 2019) give every
    shallow section such a bottleneck so that its classifier sees features of
    the deepest section's resolution.

    Args:
        in_channels: channels of the shallow feature (filled in by the
            distiller's probe).
        out_features: number of classes (filled in from the teacher record,
            the deepest logits).
        num_downsamples: stride-2 blocks; for a ResNet stage ``i`` of ``S``
            stages, ``S - 1 - i`` reaches the deepest resolution.
        max_channels: cap on the doubled channel count (default: no cap).
    """

    def __init__(self, in_channels: int | None = None, out_features: int | None = None,
                 num_downsamples: int = 1, max_channels: int | None = None,
                 init_cfg: dict | list | None = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if in_channels is None or out_features is None:
            raise ValueError('ExitClassifierConnector needs in_channels and out_features (the '
                             'distiller fills them from its probe; without probe_shape set '
                             'them explicitly, e.g. in_channels=16, out_features=10).')
        if num_downsamples < 0:
            raise ValueError(f'num_downsamples must be >= 0, got {num_downsamples}')
        layers = []
        channels = in_channels
        for _ in range(num_downsamples):
            out = channels * 2 if max_channels is None else min(channels * 2, max_channels)
            layers += [nn.Conv2d(channels, out, 3, stride=2, padding=1, bias=False),
                       nn.BatchNorm2d(out), nn.ReLU(inplace=True)]
            channels = out
        self.bottleneck = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, out_features)
        self.in_channels = in_channels

    def forward(self, feature: Tensor, reference: Tensor | None = None) -> Tensor:
        """``(N, in_channels, H, W)`` -> logits ``(N, out_features)``."""
        if feature.dim() != 4 or feature.shape[1] != self.in_channels:
            raise ValueError(f'ExitClassifierConnector(in_channels={self.in_channels}) expects '
                             f'(N, {self.in_channels}, H, W), got {tuple(feature.shape)}')
        return self.fc(self.pool(self.bottleneck(feature)).flatten(1))
