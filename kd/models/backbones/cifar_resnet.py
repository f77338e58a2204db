"""ResNet for 32x32 images (He et al., CIFAR variant).

Reference: K. He, X. Zhang, S. Ren, J. Sun, "Deep Residual Learning for Image
Recognition", CVPR 2016, section 4.2: a 3x3 stem followed by three stages of
basic blocks (``n = (depth - 2) / 6`` blocks each) with ``16, 32, 64`` channels
and strides ``1, 2, 2``.  The shortcut of a block that changes shape is a 1x1
convolution with batch norm (the "option B" shortcut used by most distillation
code bases, e.g. CRD and mdistiller).

The 4x-wide variants of the distillation benchmarks (RepDistiller's
``resnet8x4`` / ``resnet32x4``, ``models/resnet.py``) have a 32-channel stem and
stages of ``64, 128, 256`` channels: ``CifarResNet(depth=8, stem_channels=32,
base_channels=64)``.  Their first block changes the width at stride 1, so it
has a 1x1 shortcut convolution too.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from kd.registry import MODELS


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with batch norm and an identity (or 1x1) shortcut.

    Args:
        in_channels: channels of the block input.
        out_channels: channels of the block output.
        stride: stride of the first convolution (and of the shortcut).
    """

    expansion = 1

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.downsample: nn.Module | None = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                nn.BatchNorm2d(out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return ``relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))``."""
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


@MODELS.register_module()
class CifarResNet(BaseModule):
    """The CIFAR ResNet family: ResNet-8, 14, 20, 32, 44, 56, 110, ... and the
    4x-wide ResNet-8x4 / ResNet-32x4 of the distillation benchmarks.

    The stem is ``conv3x3 -> BN -> ReLU`` at full resolution; stage ``i``
    (``layer1``..``layer3``) has ``base_channels * 2**i`` channels.  For a
    ``32x32`` input the stage outputs are ``32x32``, ``16x16`` and ``8x8``.

    ========== ====================================================
    name       arguments
    ========== ====================================================
    resnet20   ``depth=20`` (16 channels, 0.27 M backbone params)
    resnet56   ``depth=56``
    resnet110  ``depth=110``
    resnet8x4  ``depth=8, stem_channels=32, base_channels=64``
    resnet32x4 ``depth=32, stem_channels=32, base_channels=64``
    ========== ====================================================

    Args:
        depth: network depth; ``(depth - 2)`` must be a positive multiple of 6.
        base_channels: channels of the first stage (and of the stem unless
            ``stem_channels`` is given).
        in_channels: channels of the input image.
        out_indices: which stage outputs ``forward`` returns (0, 1, 2).
        zero_init_residual: start every block's last BN at zero weight, so
            each block is the identity at initialisation.
        stem_channels: channels of the stem convolution; defaults to
            ``base_channels`` (32 for the 4x-wide variants).
        init_cfg: MMEngine initialisation config (e.g. a pretrained checkpoint).

    Attributes:
        out_channels: channels of each returned stage output, in order.
    """

    num_stages = 3

    def __init__(self,
                 depth: int = 20,
                 base_channels: int = 16,
                 in_channels: int = 3,
                 out_indices: Sequence[int] = (0, 1, 2),
                 zero_init_residual: bool = False,
                 stem_channels: int | None = None,
                 init_cfg: dict | list | None = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if depth < 8 or (depth - 2) % 6 != 0:
            raise ValueError(f'CifarResNet depth must be 6n + 2 with n >= 1 '
                             f'(8, 14, 20, 32, 44, 56, 110, ...), got {depth}')
        out_indices = tuple(out_indices)
        bad = [i for i in out_indices if not 0 <= i < self.num_stages]
        if not out_indices or bad:
            raise ValueError(f'out_indices must be a non-empty subset of (0, 1, 2), '
                             f'got {out_indices}')
        stem_channels = base_channels if stem_channels is None else stem_channels
        if base_channels <= 0 or stem_channels <= 0:
            raise ValueError(f'channels must be positive, got base_channels={base_channels}, '
                             f'stem_channels={stem_channels}')
        self.depth = depth
        self.base_channels = base_channels
        self.stem_channels = stem_channels
        self.out_indices = out_indices
        num_blocks = (depth - 2) // 6

        self.conv1 = nn.Conv2d(in_channels, stem_channels, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(stem_channels)
        self.relu = nn.ReLU(inplace=True)

        stage_channels = [base_channels * 2**i for i in range(self.num_stages)]
        channels = stem_channels
        for i, out_ch in enumerate(stage_channels):
            stride = 1 if i == 0 else 2
            blocks = [BasicBlock(channels, out_ch, stride)]
            blocks += [BasicBlock(out_ch, out_ch) for _ in range(num_blocks - 1)]
            self.add_module(f'layer{i + 1}', nn.Sequential(*blocks))
            channels = out_ch
        self.out_channels = tuple(stage_channels[i] for i in out_indices)
        self._init_default_weights(zero_init_residual)

    def _init_default_weights(self, zero_init_residual: bool) -> None:
        """He-normal convolutions, unit BN; optionally zero last BN of each block."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, BasicBlock):
                    nn.init.zeros_(m.bn2.weight)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Run the network.

        Args:
            x: images of shape ``(N, in_channels, H, W)``.

        Returns:
            The stage outputs selected by ``out_indices``, in order.
        """
        x = self.relu(self.bn1(self.conv1(x)))
        outs = []
        for i in range(self.num_stages):
            x = getattr(self, f'layer{i + 1}')(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)
