"""A convolution (+ optional norm and activation) that maps student channels."""
from __future__ import annotations

from mmengine.model import BaseModule
from torch import Tensor, nn

from kd.registry import MODELS

_NORMS = (None, 'bn', 'bn_batch', 'gn', 'ln')
_ACTS = (None, 'relu')


class ChannelLayerNorm(nn.Module):
    """LayerNorm over the channels of an (N, C, *spatial) map, per location.

    Args:
        channels: number of channels C.
        eps: added to the variance.
    """

    def __init__(self, channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(channels, eps=eps)

    def forward(self, x: Tensor) -> Tensor:
        """Normalise ``x`` over dim 1 with learnable affine parameters."""
        return self.norm(x.movedim(1, -1)).movedim(-1, 1)


def group_count(channels: int, max_groups: int = 32) -> int:
    """Largest number of groups ``<= max_groups`` that divides ``channels``."""
    return next(g for g in range(min(max_groups, channels), 0, -1) if channels % g == 0)


def build_norm(norm: str | None, channels: int) -> nn.Module:
    """Build the normalisation named ``norm`` for ``channels`` channels."""
    if norm is None:
        return nn.Identity()
    if norm == 'bn':
        return nn.BatchNorm2d(channels)
    if norm == 'bn_batch':  # MMRazor's BN(affine=False, track_running_stats=False)
        return nn.BatchNorm2d(channels, affine=False, track_running_stats=False)
    if norm == 'gn':
        return nn.GroupNorm(group_count(channels), channels)
    if norm == 'ln':
        return ChannelLayerNorm(channels)
    raise ValueError(f'norm must be one of {_NORMS}, got {norm!r}')


@MODELS.register_module()
class ConvConnector(BaseModule):
    """``Conv2d -> norm -> act`` adapter for (N, C, H, W) features; keeps H and W.

    Args:
        in_channels: student channels.
        out_channels: channels of the other side (usually the teacher).
        kernel_size: odd kernel size; padding ``kernel_size // 2`` keeps the size.
        norm: ``None``, ``'bn'`` (BatchNorm2d), ``'bn_batch'`` (BatchNorm2d without
            affine parameters or running statistics: every call, eval included, is
            normalised with its own batch's statistics, as MMRazor's RTMDet recipe's
            ``norm_cfg=dict(type='BN', affine=False, track_running_stats=False)``),
            ``'gn'`` (GroupNorm with 32 groups, or the largest divisor of
            ``out_channels`` below 32) or ``'ln'`` (LayerNorm over channels at each
            location).
        act: ``None`` or ``'relu'``.
        bias: whether the convolution has a bias.
        init_cfg: MMEngine weight initialisation config.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 1,
                 norm: str | None = None, act: str | None = None, bias: bool = True,
                 init_cfg: dict | list | None = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f'kernel_size must be odd to keep the spatial size, got '
                             f'{kernel_size}')
        if act not in _ACTS:
            raise ValueError(f'act must be one of {_ACTS}, got {act!r}')
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size,
                              padding=kernel_size // 2, bias=bias)
        self.norm = build_norm(norm, out_channels)
        self.act = nn.ReLU(inplace=True) if act == 'relu' else nn.Identity()

    def forward(self, feature: Tensor, reference: Tensor | None = None) -> Tensor:
        """Map ``feature`` (N, in_channels, H, W) to (N, out_channels, H, W)."""
        if feature.dim() != 4 or feature.shape[1] != self.in_channels:
            raise ValueError(f'ConvConnector({self.in_channels}->{self.out_channels}) '
                             f'expects (N, {self.in_channels}, H, W), got '
                             f'{tuple(feature.shape)}')
        return self.act(self.norm(self.conv(feature)))
