"""Resize a feature map to a fixed size or to the other side's size."""
from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from kd.registry import MODELS

_ALIGNABLE = ('linear', 'bilinear', 'bicubic', 'trilinear')


@MODELS.register_module()
class ResizeConnector(nn.Module):
    """Resize the spatial dims of (N, C, *spatial) features with interpolation.

    Args:
        size: target spatial size (int or tuple); ``None`` resizes to the
            spatial size of ``reference`` given to :meth:`forward`.
        mode: interpolation mode of :func:`torch.nn.functional.interpolate`.
        align_corners: passed to ``interpolate`` for the linear modes.
    """

    def __init__(self, size: int | tuple[int, ...] | None = None, mode: str = 'bilinear',
                 align_corners: bool = False) -> None:
        super().__init__()
        self.size = tuple(size) if isinstance(size, (list, tuple)) else size
        self.mode = mode
        self.align_corners = align_corners

    def forward(self, feature: Tensor, reference: Tensor | None = None) -> Tensor:
        """Resize ``feature`` to ``size`` or to ``reference.shape[2:]``."""
        if feature.dim() < 3:
            raise ValueError(f'ResizeConnector needs (N, C, *spatial), got '
                             f'{tuple(feature.shape)}')
        spatial_dims = feature.dim() - 2
        if isinstance(self.size, int):
            size = (self.size,) * spatial_dims
        elif self.size is not None:
            size = self.size
        elif reference is not None:
            size = tuple(reference.shape[2:])
        else:
            raise ValueError('ResizeConnector(size=None) needs the reference feature '
                             '(the other side) to take its size from.')
        if len(size) != spatial_dims:
            raise ValueError(f'ResizeConnector: target size {size} does not match the '
                             f'{spatial_dims} spatial dims of {tuple(feature.shape)}')
        if tuple(feature.shape[2:]) == size:
            return feature
        align = self.align_corners if self.mode in _ALIGNABLE else None
        return F.interpolate(feature, size=size, mode=self.mode, align_corners=align)

    def extra_repr(self) -> str:
        return f'size={self.size}, mode={self.mode!r}'
