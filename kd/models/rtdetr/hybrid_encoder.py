"""RT-DETR's hybrid encoder: AIFI on the last level, CCFM fusion of all levels.

Zhao et al. "DETRs Beat YOLOs on Real-time Object Detection", CVPR 2024, Sec. 4.2;
behaviour read from ``HybridEncoder`` of the official ``rtdetr_pytorch``
(``src/zoo/rtdetr/hybrid_encoder.py``).

* input projection: one 1x1 conv + BN per backbone level to ``hidden_dim``;
* AIFI (attention-based intra-scale feature interaction): post-norm transformer
  encoder layers (mmdet's ``DetrTransformerEncoderLayer``) over the tokens of the
  levels in ``use_encoder_idx`` (the last, stride 32), with a fixed 2-D sin-cos
  position embedding;
* CCFM (CNN-based cross-scale feature fusion): a top-down pass (1x1 lateral conv,
  nearest 2x upsampling, concatenation, a CSP block of RepVGG blocks) and a
  bottom-up pass (3x3 stride-2 conv, concatenation, CSP block).

The output is one ``hidden_dim``-channel map per input level, strides unchanged:
the "encoder features" that RT-DETR distillation recipes record (``neck``).
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmdet.models.layers import DetrTransformerEncoderLayer
from mmdet.registry import MODELS
from mmengine.model import BaseModule
from torch import Tensor


def sincos_position_embedding(height: int, width: int, dim: int,
                              temperature: float = 10000.0) -> Tensor:
    """The fixed 2-D position embedding of the AIFI tokens, ``(1, height * width, dim)``.

    Four blocks of ``dim / 4`` channels, ``[sin(a w), cos(a w), sin(b w), cos(b w)]``
    with ``w_k = temperature ** (-k / (dim / 4))``. Token ``n`` (row-major over the
    ``height x width`` map) gets ``a = n // height`` and ``b = n % height``: the
    official code enumerates a ``(width, height)`` grid in that order. On a square map
    this is (row, column); the same order is kept here so official weights see the
    embedding they were trained with on any map.
    """
    if dim % 4:
        raise ValueError(f'the sin-cos position embedding needs dim % 4 == 0, got {dim}')
    quarter = dim // 4
    omega = 1.0 / temperature ** (torch.arange(quarter, dtype=torch.float32) / quarter)
    index = torch.arange(height * width)
    a = torch.div(index, height, rounding_mode='floor').float()[:, None] * omega[None]
    b = (index % height).float()[:, None] * omega[None]
    return torch.cat([a.sin(), a.cos(), b.sin(), b.cos()], dim=1)[None]


class RepVggBlock(nn.Module):
    """``act(BN(conv3x3(x)) + BN(conv1x1(x)))`` (Ding et al. CVPR 2021), training form."""

    def __init__(self, channels: int, act_cfg: dict, norm_cfg: dict):
        super().__init__()
        self.conv1 = ConvModule(channels, channels, 3, padding=1, norm_cfg=norm_cfg,
                                act_cfg=None)
        self.conv2 = ConvModule(channels, channels, 1, norm_cfg=norm_cfg, act_cfg=None)
        self.act = MODELS.build(act_cfg) if act_cfg else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        return self.act(self.conv1(x) + self.conv2(x))


class CSPRepLayer(nn.Module):
    """CSP block: ``conv3(blocks(conv1(x)) + conv2(x))`` with RepVGG blocks.

    ``conv1``/``conv2`` are 1x1 convs to ``out_channels * expansion`` channels;
    ``conv3`` (1x1) maps back to ``out_channels`` and is omitted when the widths match.
    """

    def __init__(self, in_channels: int, out_channels: int, num_blocks: int = 3,
                 expansion: float = 1.0, act_cfg: dict | None = None,
                 norm_cfg: dict | None = None):
        super().__init__()
        act_cfg = act_cfg or dict(type='SiLU')
        norm_cfg = norm_cfg or dict(type='BN')
        hidden = int(out_channels * expansion)
        self.conv1 = ConvModule(in_channels, hidden, 1, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.conv2 = ConvModule(in_channels, hidden, 1, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.bottlenecks = nn.Sequential(*[RepVggBlock(hidden, act_cfg, norm_cfg)
                                           for _ in range(num_blocks)])
        self.conv3 = (ConvModule(hidden, out_channels, 1, norm_cfg=norm_cfg, act_cfg=act_cfg)
                      if hidden != out_channels else nn.Identity())

    def forward(self, x: Tensor) -> Tensor:
        return self.conv3(self.bottlenecks(self.conv1(x)) + self.conv2(x))


@MODELS.register_module()
class RTDETRHybridEncoder(BaseModule):
    """AIFI + CCFM (see the module docstring).

    Args:
        in_channels: channels of the backbone levels (strides 8, 16, 32).
        hidden_dim: channels of every output level (256).
        use_encoder_idx: levels that get the AIFI transformer (``[2]``: stride 32).
        num_encoder_layers: AIFI layers per such level (1).
        num_heads: attention heads (8).
        dim_feedforward: AIFI FFN width (1024).
        dropout: dropout in AIFI (0).
        enc_act_cfg: AIFI FFN activation (GELU).
        pe_temperature: temperature of the sin-cos position embedding (10000).
        expansion: hidden width factor of the CSP blocks (1.0 for R50, 0.5 for R18).
        depth_mult: RepVGG blocks per CSP block = ``round(3 * depth_mult)``.
        act_cfg: activation of the CCFM convs (SiLU).
        norm_cfg: normalisation of the convs (BN).
        init_cfg: MMEngine initialisation config.
    """

    def __init__(self, in_channels: Sequence[int] = (512, 1024, 2048), hidden_dim: int = 256,
                 use_encoder_idx: Sequence[int] = (2, ), num_encoder_layers: int = 1,
                 num_heads: int = 8, dim_feedforward: int = 1024, dropout: float = 0.0,
                 enc_act_cfg: dict | None = None, pe_temperature: float = 10000.0,
                 expansion: float = 1.0, depth_mult: float = 1.0,
                 act_cfg: dict | None = None, norm_cfg: dict | None = None,
                 init_cfg: dict | None = None):
        super().__init__(init_cfg=init_cfg)
        act_cfg = act_cfg or dict(type='SiLU')
        norm_cfg = norm_cfg or dict(type='BN')
        self.in_channels = list(in_channels)
        self.hidden_dim = hidden_dim
        self.use_encoder_idx = list(use_encoder_idx)
        self.num_encoder_layers = num_encoder_layers
        self.pe_temperature = pe_temperature
        self.input_proj = nn.ModuleList(
            ConvModule(c, hidden_dim, 1, norm_cfg=norm_cfg, act_cfg=None) for c in in_channels)
        layer_cfg = dict(
            self_attn_cfg=dict(embed_dims=hidden_dim, num_heads=num_heads, dropout=dropout,
                               batch_first=True),
            ffn_cfg=dict(embed_dims=hidden_dim, feedforward_channels=dim_feedforward,
                         num_fcs=2, ffn_drop=dropout,
                         act_cfg=enc_act_cfg or dict(type='GELU')))
        self.encoder = nn.ModuleList(
            nn.ModuleList(DetrTransformerEncoderLayer(**_copy(layer_cfg))
                          for _ in range(num_encoder_layers))
            for _ in self.use_encoder_idx)
        blocks = round(3 * depth_mult)
        levels = len(in_channels)
        self.lateral_convs = nn.ModuleList(
            ConvModule(hidden_dim, hidden_dim, 1, norm_cfg=norm_cfg, act_cfg=act_cfg)
            for _ in range(levels - 1))
        self.fpn_blocks = nn.ModuleList(
            CSPRepLayer(2 * hidden_dim, hidden_dim, blocks, expansion, act_cfg, norm_cfg)
            for _ in range(levels - 1))
        self.downsample_convs = nn.ModuleList(
            ConvModule(hidden_dim, hidden_dim, 3, stride=2, padding=1, norm_cfg=norm_cfg,
                       act_cfg=act_cfg)
            for _ in range(levels - 1))
        self.pan_blocks = nn.ModuleList(
            CSPRepLayer(2 * hidden_dim, hidden_dim, blocks, expansion, act_cfg, norm_cfg)
            for _ in range(levels - 1))

    def aifi(self, feat: Tensor, index: int) -> Tensor:
        """The AIFI transformer layers of encoder ``index`` over one level's tokens."""
        bs, ch, h, w = feat.shape
        tokens = feat.flatten(2).permute(0, 2, 1)
        pos = sincos_position_embedding(h, w, ch, self.pe_temperature).to(tokens)
        for layer in self.encoder[index]:
            tokens = layer(tokens, query_pos=pos, key_padding_mask=None)
        return tokens.permute(0, 2, 1).reshape(bs, ch, h, w).contiguous()

    def forward(self, feats: Sequence[Tensor]) -> tuple[Tensor, ...]:
        if len(feats) != len(self.in_channels):
            raise ValueError(f'RTDETRHybridEncoder: {len(feats)} backbone levels given, '
                             f'{len(self.in_channels)} configured (in_channels)')
        proj = [p(f) for p, f in zip(self.input_proj, feats)]
        if self.num_encoder_layers > 0:
            for i, level in enumerate(self.use_encoder_idx):
                proj[level] = self.aifi(proj[level], i)
        # top-down: from the coarsest level to the finest
        levels = len(proj)
        inner = [proj[-1]]
        for k, low in enumerate(reversed(proj[:-1])):
            high = self.lateral_convs[k](inner[0])
            inner[0] = high
            up = F.interpolate(high, scale_factor=2.0, mode='nearest')
            inner.insert(0, self.fpn_blocks[k](torch.cat([up, low], dim=1)))
        # bottom-up
        outs = [inner[0]]
        for k in range(levels - 1):
            down = self.downsample_convs[k](outs[-1])
            outs.append(self.pan_blocks[k](torch.cat([down, inner[k + 1]], dim=1)))
        return tuple(outs)


def _copy(cfg: dict) -> dict:
    """A deep copy of a nested dict of plain values (each layer gets its own cfg)."""
    return {k: _copy(v) if isinstance(v, dict) else v for k, v in cfg.items()}
