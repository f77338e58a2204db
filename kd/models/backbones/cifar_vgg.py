"""VGG with batch norm for 32x32 images (VGG-8, 11, 13, 16, 19).

Reference: K. Simonyan, A. Zisserman, "Very Deep Convolutional Networks for
Large-Scale Image Recognition", ICLR 2015 (configurations A, B, D, E), with
batch norm after every convolution and the fully connected layers removed, as
in the CIFAR distillation benchmarks (RepDistiller's ``models/vgg.py``:
``vgg8`` is its configuration "S" with one convolution per stage, and the
``vgg*`` names there are the ``*_bn`` networks).

Five stages of ``conv3x3 (with bias) -> BN -> ReLU`` with ``64, 128, 256, 512,
512`` channels; a 2x2 max pooling precedes stages 1, 2 and 3.  Stage 4 runs at
the resolution of stage 3 (``4x4`` for a ``32x32`` input), as in the reference,
which skips the fourth pooling for 32-pixel inputs.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from kd.registry import MODELS

from .utils import check_out_indices, init_conv_bn

# convolutions per stage; every stage has 64, 128, 256, 512, 512 channels
VGG_ARCHS = {
    8: (1, 1, 1, 1, 1),
    11: (1, 1, 2, 2, 2),
    13: (2, 2, 2, 2, 2),
    16: (2, 2, 3, 3, 3),
    19: (2, 2, 4, 4, 4),
}
VGG_CHANNELS = (64, 128, 256, 512, 512)


@MODELS.register_module()
class CifarVGG(BaseModule):
    """VGG-BN for 32x32 images: ``CifarVGG(depth=13)`` is RepDistiller's ``vgg13``.

    Modules: ``layer1``..``layer5`` (``nn.Sequential`` of conv-BN-ReLU) and
    ``pool1``..``pool3`` (max pooling before ``layer2``..``layer4``).  ReLUs are not
    in-place, so recording a stage's last BN gives its pre-activation output.
    For a ``32x32`` input the stage outputs are ``(64, 32x32)``, ``(128, 16x16)``,
    ``(256, 8x8)``, ``(512, 4x4)`` and ``(512, 4x4)``.

    Args:
        depth: 8, 11, 13, 16 or 19 (see ``VGG_ARCHS``).
        in_channels: channels of the input image.
        out_indices: which stage outputs ``forward`` returns (0..4).
        norm: add batch norm after each convolution (``False``: plain VGG).
        init_cfg: MMEngine initialisation config.

    Attributes:
        out_channels: channels of each returned stage output, in order.
    """

    num_stages = 5

    def __init__(self,
                 depth: int = 13,
                 in_channels: int = 3,
                 out_indices: Sequence[int] = (0, 1, 2, 3, 4),
                 norm: bool = True,
                 init_cfg: dict | list | None = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if depth not in VGG_ARCHS:
            raise ValueError(f'CifarVGG depth must be one of {sorted(VGG_ARCHS)}, got {depth}')
        self.depth = depth
        self.out_indices = check_out_indices(out_indices, self.num_stages, 'CifarVGG')
        channels = in_channels
        for i, (num_convs, width) in enumerate(zip(VGG_ARCHS[depth], VGG_CHANNELS)):
            layers = []
            for _ in range(num_convs):
                layers.append(nn.Conv2d(channels, width, 3, 1, 1, bias=True))
                if norm:
                    layers.append(nn.BatchNorm2d(width))
                layers.append(nn.ReLU())
                channels = width
            self.add_module(f'layer{i + 1}', nn.Sequential(*layers))
            if 1 <= i <= 3:
                self.add_module(f'pool{i}', nn.MaxPool2d(2, 2))
        self.out_channels = tuple(VGG_CHANNELS[i] for i in self.out_indices)
        init_conv_bn(self)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Return the stage outputs selected by ``out_indices`` for ``(N, C, H, W)`` images."""
        outs = []
        for i in range(self.num_stages):
            if 1 <= i <= 3:
                x = getattr(self, f'pool{i}')(x)
            x = getattr(self, f'layer{i + 1}')(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)
