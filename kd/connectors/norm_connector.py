"""Parameter-free standardisation of a feature (used on student and teacher)."""
from __future__ import annotations

import torch
from torch import Tensor, nn

from kd.registry import MODELS


@MODELS.register_module()
class NormConnector(nn.Module):
    """Standardise a feature to zero mean and unit variance along some axes.

    For an (N, C, *spatial) feature:

    * ``'channel'``: per sample and channel, over the spatial locations;
    * ``'spatial'``: per sample and location, over the channels;
    * ``'layer'``: per sample, over channels and locations together.
    * ``'batch'``: per channel, over the batch and the locations (BatchNorm's
      statistics, without affine parameters or running averages: MMRazor's
      teacher-side ``BN(affine=False, track_running_stats=False)``).

    ``(x - mean) / sqrt(var + eps)`` with the biased variance. Typical use:
    ``connector=dict(type='NormConnector', mode='channel')`` together with the
    same ``teacher_connector``.

    Args:
        mode: ``'channel'``, ``'spatial'``, ``'layer'`` or ``'batch'``.
        eps: added to the variance.
    """

    MODES = ('channel', 'spatial', 'layer', 'batch')

    def __init__(self, mode: str = 'channel', eps: float = 1e-5) -> None:
        super().__init__()
        if mode not in self.MODES:
            raise ValueError(f'mode must be one of {self.MODES}, got {mode!r}')
        self.mode = mode
        self.eps = eps

    def forward(self, feature: Tensor, reference: Tensor | None = None) -> Tensor:
        """Return the standardised ``feature`` (same shape)."""
        ndim = feature.dim()
        if self.mode == 'channel':
            if ndim < 3:
                raise ValueError(f'NormConnector(mode="channel") needs (N, C, H, W) or '
                                 f'(N, C, L), got {tuple(feature.shape)}')
            dims = tuple(range(2, ndim))
        elif self.mode == 'spatial':
            if ndim < 2:
                raise ValueError(f'NormConnector(mode="spatial") needs (N, C, ...), got '
                                 f'{tuple(feature.shape)}')
            dims = (1,)
        elif self.mode == 'batch':
            if ndim < 2:
                raise ValueError(f'NormConnector(mode="batch") needs (N, C, ...), got '
                                 f'{tuple(feature.shape)}')
            dims = (0, *range(2, ndim))
        else:
            if ndim < 2:
                raise ValueError(f'NormConnector(mode="layer") needs (N, C, ...), got '
                                 f'{tuple(feature.shape)}')
            dims = tuple(range(1, ndim))
        var, mean = torch.var_mean(feature, dim=dims, correction=0, keepdim=True)
        return (feature - mean) / (var + self.eps).sqrt()

    def extra_repr(self) -> str:
        return f'mode={self.mode!r}, eps={self.eps}'

