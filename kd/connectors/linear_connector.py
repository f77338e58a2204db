"""A linear layer that maps student features (N, C) or tokens (N, L, C)."""
from __future__ import annotations

from mmengine.model import BaseModule
from torch import Tensor, nn

from kd.registry import MODELS


@MODELS.register_module()
class LinearConnector(BaseModule):
    """``nn.Linear`` adapter applied to the last dimension.

    Args:
        in_features: student feature size (last dimension).
        out_features: feature size of the other side.
        bias: whether the layer has a bias.
        init_cfg: MMEngine weight initialisation config.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 init_cfg: dict | list | None = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.in_features = in_features
        self.out_features = out_features
        self.linear = nn.Linear(in_features, out_features, bias=bias)

    def forward(self, feature: Tensor, reference: Tensor | None = None) -> Tensor:
        """Map ``feature`` (..., in_features) to (..., out_features)."""
        if feature.dim() < 2 or feature.shape[-1] != self.in_features:
            raise ValueError(f'LinearConnector({self.in_features}->{self.out_features}) '
                             f'expects (N, {self.in_features}) or (N, L, '
                             f'{self.in_features}), got {tuple(feature.shape)}')
        return self.linear(feature)
