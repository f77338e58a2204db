"""ResNet-vd as RT-DETR uses it: mmdet's ``ResNetV1d`` plus one projection shortcut.

The official RT-DETR backbone (``PResNet``, variant ``d``; He et al. "Bag of Tricks
for Image Classification", CVPR 2019) is mmdet's ``ResNetV1d``: a three-conv deep
stem, stride on the 3x3 conv, and an average-pool + 1x1 conv shortcut where a stage
downsamples. One difference: ``PResNet`` gives the *first block of every stage* a
projection shortcut (1x1 conv + BN), also in the first stage of ResNet-18/34, where
input and output widths are equal and mmdet's ``ResLayer`` keeps the identity. The
official checkpoints hold that shortcut, so it is added here
(``first_block_projection=True``). ResNet-50/101 already have it in mmdet.

Another detail: the shortcut's average pool counts padding in ``PResNet``
(``count_include_pad=True``) and not in mmdet; with ``ceil_mode`` and no padding the
two differ only on odd-sized maps (none at 640x640 or 96x96 inputs).
"""
from __future__ import annotations

import torch.nn as nn
from mmcv.cnn import build_conv_layer, build_norm_layer
from mmdet.models.backbones import ResNetV1d
from mmdet.registry import MODELS


@MODELS.register_module()
class RTDETRResNetV1d(ResNetV1d):
    """mmdet's ``ResNetV1d`` with a projection shortcut on each stage's first block.

    Args:
        first_block_projection: give the first block of every stage a 1x1 conv + BN
            shortcut even where the widths match (the official ``PResNet`` layout).
        **kwargs: the arguments of ``ResNetV1d`` (``depth``, ``out_indices``,
            ``frozen_stages``, ``norm_cfg``, ``norm_eval``, ...).
    """

    def __init__(self, first_block_projection: bool = True, **kwargs):
        self.first_block_projection = first_block_projection
        super().__init__(**kwargs)

    def make_res_layer(self, **kwargs):
        layer = super().make_res_layer(**kwargs)
        first = layer[0]
        if self.first_block_projection and first.downsample is None:
            width = kwargs['planes'] * self.block.expansion
            # index 0 as in mmdet's avg_down shortcuts (a stride-1 pool there), so the
            # conv and BN have the same keys (downsample.1/.2) in every stage
            first.downsample = nn.Sequential(
                nn.Identity(),
                build_conv_layer(kwargs.get('conv_cfg'), kwargs['inplanes'], width,
                                 kernel_size=1, stride=1, bias=False),
                build_norm_layer(kwargs['norm_cfg'], width)[1])
        return layer
