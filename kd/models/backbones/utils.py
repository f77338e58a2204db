"""Helpers shared by the CIFAR backbones: argument checks and default initialisation."""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn


def check_out_indices(out_indices: Sequence[int], num_outputs: int, name: str) -> tuple:
    """Return ``out_indices`` as a tuple, or raise if it is empty or out of range.

    Args:
        out_indices: the requested stage indices.
        num_outputs: how many outputs the backbone has (valid indices ``0..n-1``).
        name: the backbone's class name, for the message.
    """
    out_indices = tuple(int(i) for i in out_indices)
    valid = tuple(range(num_outputs))
    bad = [i for i in out_indices if i not in valid]
    if not out_indices or bad or len(set(out_indices)) != len(out_indices):
        raise ValueError(f'{name}: out_indices must be a non-empty subset of {valid} without '
                         f'repeats, got {out_indices}')
    return tuple(sorted(out_indices))


def init_conv_bn(module: nn.Module) -> None:
    """He-normal (fan-out) convolutions, unit-weight zero-bias batch norms.

    The initialisation of the CIFAR reference implementations (RepDistiller,
    mdistiller); ``nn.Linear`` layers keep PyTorch's default.
    """
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """Interleave the channels of ``groups`` groups (ShuffleNet).

    ``(N, g * c, H, W) -> view (N, g, c, H, W) -> transpose -> (N, c * g, H, W)``.
    """
    if groups == 1:
        return x
    n, c, h, w = x.shape
    if c % groups:
        raise ValueError(f'channel_shuffle: {c} channels are not divisible by {groups} groups')
    return x.view(n, groups, c // groups, h, w).transpose(1, 2).reshape(n, c, h, w)
