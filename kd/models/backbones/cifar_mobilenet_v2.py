"""MobileNetV2 for 32x32 images, the CIFAR variant of the distillation benchmarks.

Reference: M. Sandler et al., "MobileNetV2: Inverted Residuals and Linear
Bottlenecks", CVPR 2018 (Table 2): a strided 3x3 stem, seven groups of inverted
residual blocks ``(t, c, n, s)`` and a 1x1 convolution to 1280 channels.

The CIFAR variant is the one of RepDistiller's ``models/mobilenetv2.py``
(``MobileNetV2`` there is ``mobile_half``: expansion 6, width 0.5): the second
group has stride 1 instead of 2, so a ``32x32`` input ends at ``2x2``; group
widths are ``int(c * widen_factor)`` without rounding to a multiple of 8; the last
convolution keeps 1280 channels unless ``widen_factor > 1``.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from kd.registry import MODELS

from .utils import check_out_indices, init_conv_bn

# (expansion, channels, blocks, stride) of the seven groups; expansion None: the
# ``expand_ratio`` argument (6 in the paper), 1 for the first group.
MOBILENET_V2_SETTINGS = (
    (1, 16, 1, 1),
    (None, 24, 2, 1),   # stride 2 in the ImageNet network
    (None, 32, 3, 2),
    (None, 64, 4, 2),
    (None, 96, 3, 1),
    (None, 160, 3, 2),
    (None, 320, 1, 1),
)
# the backbone's outputs: after groups 2, 3, 5 and 7 (1-based), then the last conv
STAGE_ENDS = (2, 3, 5, 7)


def conv_bn_relu(in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 groups: int = 1) -> nn.Sequential:
    """``Conv2d (no bias) -> BN -> ReLU`` keeping the size for stride 1."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, stride, kernel_size // 2,
                  groups=groups, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU())


class InvertedResidual(nn.Module):
    """1x1 expansion -> 3x3 depthwise (stride) -> linear 1x1 projection, plus the
    input when stride is 1 and the widths agree.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        stride: stride of the depthwise convolution (1 or 2).
        expand_ratio: hidden width ``in_channels * expand_ratio``.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int,
                 expand_ratio: int) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f'stride must be 1 or 2, got {stride}')
        hidden = in_channels * expand_ratio
        self.use_residual = stride == 1 and in_channels == out_channels
        # the expansion is kept for expand_ratio 1 too, as in the reference
        self.conv = nn.Sequential(
            conv_bn_relu(in_channels, hidden, 1),
            conv_bn_relu(hidden, hidden, 3, stride, groups=hidden),
            nn.Conv2d(hidden, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv(x)
        return x + out if self.use_residual else out


@MODELS.register_module()
class CifarMobileNetV2(BaseModule):
    """MobileNetV2 for CIFAR; ``CifarMobileNetV2(widen_factor=0.5)`` is RepDistiller's
    ``MobileNetV2``.

    Modules: ``conv1`` (3x3 stride-2 stem), ``layer1``..``layer7`` (the groups of
    inverted residuals) and ``conv2`` (1x1 to ``last_channels``).  The five
    outputs are taken after ``layer2``, ``layer3``, ``layer5``, ``layer7`` and
    ``conv2``; for a ``32x32`` input and width 0.5 they are ``(12, 16x16)``,
    ``(16, 8x8)``, ``(48, 4x4)``, ``(160, 2x2)`` and ``(1280, 2x2)``.

    Args:
        widen_factor: width multiplier of the stem and of the groups.
        expand_ratio: expansion of groups 2-7 (``T`` in the reference).
        in_channels: channels of the input image.
        out_indices: which outputs ``forward`` returns (0..4).
        init_cfg: MMEngine initialisation config.

    Attributes:
        out_channels: channels of each returned output, in order.
        last_channels: channels of the last convolution.
    """

    num_stages = 5

    def __init__(self,
                 widen_factor: float = 0.5,
                 expand_ratio: int = 6,
                 in_channels: int = 3,
                 out_indices: Sequence[int] = (0, 1, 2, 3, 4),
                 init_cfg: dict | list | None = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if widen_factor <= 0:
            raise ValueError(f'widen_factor must be positive, got {widen_factor}')
        self.widen_factor = widen_factor
        self.out_indices = check_out_indices(out_indices, self.num_stages, 'CifarMobileNetV2')
        channels = int(32 * widen_factor)
        self.conv1 = conv_bn_relu(in_channels, channels, 3, 2)
        group_channels = []
        for i, (t, c, n, s) in enumerate(MOBILENET_V2_SETTINGS):
            width = int(c * widen_factor)
            t = expand_ratio if t is None else t
            blocks = []
            for j in range(n):
                blocks.append(InvertedResidual(channels, width, s if j == 0 else 1, t))
                channels = width
            self.add_module(f'layer{i + 1}', nn.Sequential(*blocks))
            group_channels.append(width)
        self.last_channels = int(1280 * widen_factor) if widen_factor > 1.0 else 1280
        self.conv2 = conv_bn_relu(channels, self.last_channels, 1)
        stage_channels = [group_channels[e - 1] for e in STAGE_ENDS] + [self.last_channels]
        self.out_channels = tuple(stage_channels[i] for i in self.out_indices)
        init_conv_bn(self)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Return the outputs selected by ``out_indices`` for ``(N, C, H, W)`` images."""
        x = self.conv1(x)
        outs = []
        stage = 0
        for i in range(len(MOBILENET_V2_SETTINGS)):
            x = getattr(self, f'layer{i + 1}')(x)
            if i + 1 in STAGE_ENDS:
                if stage in self.out_indices:
                    outs.append(x)
                stage += 1
        x = self.conv2(x)
        if stage in self.out_indices:
            outs.append(x)
        return tuple(outs)
