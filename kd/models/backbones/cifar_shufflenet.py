"""ShuffleNet V1 and V2 for 32x32 images, the CIFAR variants of the distillation benchmarks.

References:

* X. Zhang, X. Zhou, M. Lin, J. Sun, "ShuffleNet: An Extremely Efficient
  Convolutional Neural Network for Mobile Devices", CVPR 2018 (Table 1): three
  stages of bottleneck units (grouped 1x1 -> channel shuffle -> 3x3 depthwise ->
  grouped 1x1), the first unit of each stage strided, concatenating an average
  pooled shortcut; the first 1x1 convolution of the network is not grouped.
* N. Ma, X. Zhang, H.-T. Zheng, J. Sun, "ShuffleNet V2: Practical Guidelines for
  Efficient CNN Architecture Design", ECCV 2018 (Table 5): channel split, a
  1x1 -> 3x3 depthwise -> 1x1 branch, concatenation and channel shuffle; a
  down-sampling unit with two branches starts each stage; a final 1x1 convolution.

The CIFAR variants are those of RepDistiller's ``models/ShuffleNetv1.py`` and
``ShuffleNetv2.py`` (``ShuffleV1``: groups 3, widths 240/480/960, 4/8/4 units;
``ShuffleV2``: the 1x network, widths 116/232/464 and 1024): the stem is a 1x1
convolution to 24 channels at full resolution (no stride, no max pooling), so a
``32x32`` input gives stages at ``16x16``, ``8x8`` and ``4x4``.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from kd.registry import MODELS

from .utils import channel_shuffle, check_out_indices, init_conv_bn

# ShuffleNet V1 stage widths per group count (paper, Table 1, 1x)
SHUFFLENET_V1_WIDTHS = {1: (144, 288, 576), 2: (200, 400, 800), 3: (240, 480, 960),
                        4: (272, 544, 1088), 8: (384, 768, 1536)}
# ShuffleNet V2 stage widths and last conv per width multiplier (paper, Table 5)
SHUFFLENET_V2_WIDTHS = {0.5: (48, 96, 192, 1024), 1.0: (116, 232, 464, 1024),
                        1.5: (176, 352, 704, 1024), 2.0: (244, 488, 976, 2048)}


class ShuffleV1Unit(nn.Module):
    """The ShuffleNet unit: ``relu(out + x)``, or ``relu(cat(out, avgpool(x)))`` when strided.

    Args:
        in_channels: input channels.
        out_channels: channels of the residual branch (the unit outputs
            ``out_channels + in_channels`` when strided).
        stride: 1 or 2.
        groups: groups of the 1x1 convolutions.
        group_first: group the first 1x1 convolution (not for the stem's output).
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int, groups: int,
                 group_first: bool = True) -> None:
        super().__init__()
        mid = out_channels // 4
        g1 = groups if group_first else 1
        self.stride = stride
        self.groups_first = g1
        self.conv1 = nn.Conv2d(in_channels, mid, 1, groups=g1, bias=False)
        self.bn1 = nn.BatchNorm2d(mid)
        self.conv2 = nn.Conv2d(mid, mid, 3, stride, 1, groups=mid, bias=False)
        self.bn2 = nn.BatchNorm2d(mid)
        self.conv3 = nn.Conv2d(mid, out_channels, 1, groups=groups, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU()
        self.shortcut = nn.AvgPool2d(3, 2, 1) if stride == 2 else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = channel_shuffle(out, self.groups_first)
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.shortcut is not None:
            return self.relu(torch.cat([out, self.shortcut(x)], 1))
        return self.relu(out + x)


@MODELS.register_module()
class CifarShuffleNetV1(BaseModule):
    """ShuffleNet V1 for CIFAR; the defaults are RepDistiller's ``ShuffleV1``.

    Modules: ``conv1``/``bn1`` (1x1 stem to 24 channels) and ``layer1``..``layer3``.
    For a ``32x32`` input and 3 groups the stage outputs are ``(240, 16x16)``,
    ``(480, 8x8)`` and ``(960, 4x4)``.

    Args:
        groups: groups of the 1x1 convolutions (1, 2, 3, 4 or 8 use the paper's
            widths).
        stage_channels: output channels of the three stages (overrides the
            paper's widths for ``groups``).
        num_blocks: units per stage.
        in_channels: channels of the input image.
        out_indices: which stage outputs ``forward`` returns (0, 1, 2).
        init_cfg: MMEngine initialisation config.

    Attributes:
        out_channels: channels of each returned stage output, in order.
    """

    num_stages = 3

    def __init__(self,
                 groups: int = 3,
                 stage_channels: Sequence[int] | None = None,
                 num_blocks: Sequence[int] = (4, 8, 4),
                 in_channels: int = 3,
                 out_indices: Sequence[int] = (0, 1, 2),
                 init_cfg: dict | list | None = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if stage_channels is None:
            if groups not in SHUFFLENET_V1_WIDTHS:
                raise ValueError(f'CifarShuffleNetV1: no standard widths for groups={groups} '
                                 f'(have {sorted(SHUFFLENET_V1_WIDTHS)}); give stage_channels')
            stage_channels = SHUFFLENET_V1_WIDTHS[groups]
        stage_channels = tuple(int(c) for c in stage_channels)
        if len(stage_channels) != self.num_stages or len(num_blocks) != self.num_stages:
            raise ValueError('CifarShuffleNetV1: stage_channels and num_blocks need 3 values')
        self.groups = groups
        self.out_indices = check_out_indices(out_indices, self.num_stages, 'CifarShuffleNetV1')
        stem = 24
        self.conv1 = nn.Conv2d(in_channels, stem, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(stem)
        self.relu = nn.ReLU()
        channels = stem
        for i, (width, n) in enumerate(zip(stage_channels, num_blocks)):
            units = []
            for j in range(n):
                # the strided first unit concatenates its input: its branch makes the rest
                branch = width - channels if j == 0 else width
                if branch <= 0 or branch % 4 or (branch // 4) % groups or branch % groups:
                    raise ValueError(f'CifarShuffleNetV1: stage {i} width {width} gives a '
                                     f'branch of {branch} channels, not divisible by 4 * '
                                     f'groups={groups}')
                units.append(ShuffleV1Unit(channels, branch, 2 if j == 0 else 1, groups,
                                           group_first=not (i == 0 and j == 0)))
                channels = width
            self.add_module(f'layer{i + 1}', nn.Sequential(*units))
        self.out_channels = tuple(stage_channels[i] for i in self.out_indices)
        init_conv_bn(self)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Return the stage outputs selected by ``out_indices`` for ``(N, C, H, W)`` images."""
        x = self.relu(self.bn1(self.conv1(x)))
        outs = []
        for i in range(self.num_stages):
            x = getattr(self, f'layer{i + 1}')(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)


class ShuffleV2Unit(nn.Module):
    """Channel split; ``1x1 -> BN -> ReLU -> 3x3 dw -> BN -> 1x1 -> BN -> ReLU`` on one
    half; concatenation with the other half; channel shuffle.

    Args:
        channels: input and output channels (even).
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        if channels % 2:
            raise ValueError(f'ShuffleV2Unit needs an even channel count, got {channels}')
        half = channels // 2
        self.branch = nn.Sequential(
            nn.Conv2d(half, half, 1, bias=False), nn.BatchNorm2d(half), nn.ReLU(),
            nn.Conv2d(half, half, 3, 1, 1, groups=half, bias=False), nn.BatchNorm2d(half),
            nn.Conv2d(half, half, 1, bias=False), nn.BatchNorm2d(half), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1, x2 = x.chunk(2, dim=1)
        return channel_shuffle(torch.cat([x1, self.branch(x2)], 1), 2)


class ShuffleV2DownUnit(nn.Module):
    """The down-sampling unit: two strided branches concatenated, then shuffled.

    Left: ``3x3 dw (stride 2) -> BN -> 1x1 -> BN -> ReLU``; right: ``1x1 -> BN ->
    ReLU -> 3x3 dw (stride 2) -> BN -> 1x1 -> BN -> ReLU``; each gives half of
    ``out_channels``.
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        if out_channels % 2:
            raise ValueError(f'ShuffleV2DownUnit needs an even out_channels, got {out_channels}')
        mid = out_channels // 2
        self.branch_left = nn.Sequential(
            nn.Conv2d(in_channels, in_channels, 3, 2, 1, groups=in_channels, bias=False),
            nn.BatchNorm2d(in_channels),
            nn.Conv2d(in_channels, mid, 1, bias=False), nn.BatchNorm2d(mid), nn.ReLU())
        self.branch_right = nn.Sequential(
            nn.Conv2d(in_channels, mid, 1, bias=False), nn.BatchNorm2d(mid), nn.ReLU(),
            nn.Conv2d(mid, mid, 3, 2, 1, groups=mid, bias=False), nn.BatchNorm2d(mid),
            nn.Conv2d(mid, mid, 1, bias=False), nn.BatchNorm2d(mid), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.cat([self.branch_left(x), self.branch_right(x)], 1)
        return channel_shuffle(out, 2)


@MODELS.register_module()
class CifarShuffleNetV2(BaseModule):
    """ShuffleNet V2 for CIFAR; ``CifarShuffleNetV2(widen_factor=1.0)`` is RepDistiller's
    ``ShuffleV2``.

    Modules: ``conv1``/``bn1`` (1x1 stem to 24 channels), ``layer1``..``layer3``
    (a down-sampling unit, then ``num_blocks[i]`` units) and ``conv2``/``bn2`` (1x1
    to the last width, then ReLU).  The four outputs are the three stages and the
    last convolution; for a ``32x32`` input at width 1.0 they are ``(116, 16x16)``,
    ``(232, 8x8)``, ``(464, 4x4)`` and ``(1024, 4x4)``.

    Args:
        widen_factor: 0.5, 1.0, 1.5 or 2.0 (the paper's widths).
        stage_channels: four widths (three stages and the last convolution),
            overriding ``widen_factor``.
        num_blocks: units after the down-sampling unit of each stage.
        in_channels: channels of the input image.
        out_indices: which outputs ``forward`` returns (0..3).
        init_cfg: MMEngine initialisation config.

    Attributes:
        out_channels: channels of each returned output, in order.
    """

    num_stages = 4

    def __init__(self,
                 widen_factor: float = 1.0,
                 stage_channels: Sequence[int] | None = None,
                 num_blocks: Sequence[int] = (3, 7, 3),
                 in_channels: int = 3,
                 out_indices: Sequence[int] = (0, 1, 2, 3),
                 init_cfg: dict | list | None = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if stage_channels is None:
            if float(widen_factor) not in SHUFFLENET_V2_WIDTHS:
                raise ValueError(f'CifarShuffleNetV2: widen_factor must be one of '
                                 f'{sorted(SHUFFLENET_V2_WIDTHS)}, got {widen_factor}; or '
                                 'give stage_channels')
            stage_channels = SHUFFLENET_V2_WIDTHS[float(widen_factor)]
        stage_channels = tuple(int(c) for c in stage_channels)
        if len(stage_channels) != 4 or len(num_blocks) != 3:
            raise ValueError('CifarShuffleNetV2: stage_channels needs 4 values and num_blocks 3')
        self.out_indices = check_out_indices(out_indices, self.num_stages, 'CifarShuffleNetV2')
        stem = 24
        self.conv1 = nn.Conv2d(in_channels, stem, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(stem)
        self.relu = nn.ReLU()
        channels = stem
        for i, (width, n) in enumerate(zip(stage_channels[:3], num_blocks)):
            units = [ShuffleV2DownUnit(channels, width)]
            units += [ShuffleV2Unit(width) for _ in range(n)]
            self.add_module(f'layer{i + 1}', nn.Sequential(*units))
            channels = width
        self.conv2 = nn.Conv2d(channels, stage_channels[3], 1, bias=False)
        self.bn2 = nn.BatchNorm2d(stage_channels[3])
        self.out_channels = tuple(stage_channels[i] for i in self.out_indices)
        init_conv_bn(self)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Return the outputs selected by ``out_indices`` for ``(N, C, H, W)`` images."""
        x = self.relu(self.bn1(self.conv1(x)))
        outs = []
        for i in range(3):
            x = getattr(self, f'layer{i + 1}')(x)
            if i in self.out_indices:
                outs.append(x)
        x = self.relu(self.bn2(self.conv2(x)))
        if 3 in self.out_indices:
            outs.append(x)
        return tuple(outs)
