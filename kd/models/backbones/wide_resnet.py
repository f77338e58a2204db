"""Wide residual networks for 32x32 images (WRN-d-k).

Reference: S. Zagoruyko, N. Komodakis, "Wide Residual Networks", BMVC 2016:
a 3x3 stem with 16 channels, three stages of ``n = (d - 4) / 6`` pre-activation
basic blocks (``BN -> ReLU -> conv3x3 -> BN -> ReLU -> conv3x3``) with
``16k, 32k, 64k`` channels and strides ``1, 2, 2``, then ``BN -> ReLU``.  A block
that changes shape has a 1x1 shortcut convolution applied to its pre-activated
input.  The layer counts and widths are those of RepDistiller's ``models/wrn.py``
(``wrn_16_2``, ``wrn_40_1``, ``wrn_40_2``, ...) used by the CIFAR-100
distillation benchmarks; dropout is off by default, as there.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from kd.registry import MODELS

from .utils import check_out_indices, init_conv_bn


class PreActBlock(nn.Module):
    """``x + conv2(relu(bn2(conv1(relu(bn1(x))))))`` with an optional 1x1 shortcut.

    Args:
        in_channels: channels of the block input.
        out_channels: channels of the block output.
        stride: stride of the first convolution (and of the shortcut).
        drop_rate: dropout probability between the two convolutions.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1,
                 drop_rate: float = 0.0) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.relu = nn.ReLU()
        self.drop_rate = drop_rate
        self.shortcut: nn.Module | None = None
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Conv2d(in_channels, out_channels, 1, stride, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the block output (no activation: the next block pre-activates it)."""
        pre = self.relu(self.bn1(x))
        # a widening/strided block projects its pre-activated input (as in the paper's code)
        identity = x if self.shortcut is None else self.shortcut(pre)
        out = self.relu(self.bn2(self.conv1(pre)))
        if self.drop_rate > 0:
            out = F.dropout(out, p=self.drop_rate, training=self.training)
        return identity + self.conv2(out)


@MODELS.register_module()
class WideResNet(BaseModule):
    """WRN-``depth``-``widen_factor`` for 32x32 images (WRN-16-2, WRN-40-1, WRN-40-2, ...).

    Modules: ``conv1`` (stem), ``layer1``..``layer3`` (stages of pre-activation
    blocks), ``norm_out`` + ``relu`` (the final ``BN -> ReLU``).  The outputs of
    stages 0 and 1 are the raw residual sums (``layer1``, ``layer2``); the output
    of stage 2 is ``relu(norm_out(layer3(x)))``, the feature the classifier pools.
    Record ``backbone.layer3`` for the last stage before its final BN-ReLU (the
    feature RepDistiller's AT, SP and VID use).

    For a ``32x32`` input the outputs are ``(16k, 32x32)``, ``(32k, 16x16)`` and
    ``(64k, 8x8)`` for ``k = widen_factor``.

    Args:
        depth: network depth; ``(depth - 4)`` must be a positive multiple of 6.
        widen_factor: width multiplier ``k`` of the stages.
        base_channels: channels of the stem; stage ``i`` has
            ``base_channels * 2**i * widen_factor`` channels.
        in_channels: channels of the input image.
        out_indices: which stage outputs ``forward`` returns (0, 1, 2).
        drop_rate: dropout probability inside the blocks.
        init_cfg: MMEngine initialisation config.

    Attributes:
        out_channels: channels of each returned output, in order.
    """

    num_stages = 3

    def __init__(self,
                 depth: int = 16,
                 widen_factor: int = 1,
                 base_channels: int = 16,
                 in_channels: int = 3,
                 out_indices: Sequence[int] = (0, 1, 2),
                 drop_rate: float = 0.0,
                 init_cfg: dict | list | None = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if depth < 10 or (depth - 4) % 6 != 0:
            raise ValueError(f'WideResNet depth must be 6n + 4 with n >= 1 (10, 16, 22, 28, '
                             f'40, ...), got {depth}')
        if widen_factor < 1:
            raise ValueError(f'widen_factor must be >= 1, got {widen_factor}')
        self.depth = depth
        self.widen_factor = widen_factor
        self.out_indices = check_out_indices(out_indices, self.num_stages, 'WideResNet')
        num_blocks = (depth - 4) // 6

        self.conv1 = nn.Conv2d(in_channels, base_channels, 3, 1, 1, bias=False)
        stage_channels = [base_channels * 2**i * widen_factor for i in range(self.num_stages)]
        channels = base_channels
        for i, out_ch in enumerate(stage_channels):
            stride = 1 if i == 0 else 2
            blocks = [PreActBlock(channels, out_ch, stride, drop_rate)]
            blocks += [PreActBlock(out_ch, out_ch, 1, drop_rate) for _ in range(num_blocks - 1)]
            self.add_module(f'layer{i + 1}', nn.Sequential(*blocks))
            channels = out_ch
        self.norm_out = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU()
        self.out_channels = tuple(stage_channels[i] for i in self.out_indices)
        init_conv_bn(self)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Return the stage outputs selected by ``out_indices`` for ``(N, C, H, W)`` images."""
        x = self.conv1(x)
        outs = []
        for i in range(self.num_stages):
            x = getattr(self, f'layer{i + 1}')(x)
            if i == self.num_stages - 1:
                x = self.relu(self.norm_out(x))
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)
