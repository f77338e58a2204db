"""RT-DETR's decoder: deformable-attention layers with iterative box refinement.

Behaviour read from ``TransformerDecoder`` of the official ``rtdetr_pytorch``
(``src/zoo/rtdetr/rtdetr_decoder.py``). Each layer is mmdet's
``DeformableDetrTransformerDecoderLayer`` (self-attention, multi-scale deformable
cross-attention from mmcv ops, FFN, post-norm), which computes what the official
layer computes. The positional query of a layer is an MLP of its reference box
(``query_pos_head``, 4 -> 2C -> C), not a sine encoding as in DINO; the reference
boxes ``(cx, cy, w, h)`` are refined after every layer by ``reg_branches`` (the
head's box MLPs) and detached before the next layer.
"""
from __future__ import annotations

import copy

import torch.nn as nn
from mmdet.models.layers import DeformableDetrTransformerDecoderLayer, inverse_sigmoid
from mmdet.models.layers.transformer.utils import MLP
from mmengine.model import BaseModule
from torch import Tensor


class RTDETRTransformerDecoder(BaseModule):
    """The decoder layers and the positional-query MLP.

    Args:
        num_layers: decoder layers (6 for R50, 3 for R18).
        layer_cfg: config of one ``DeformableDetrTransformerDecoderLayer``.
        init_cfg: MMEngine initialisation config.
    """

    def __init__(self, num_layers: int, layer_cfg: dict, init_cfg: dict | None = None):
        super().__init__(init_cfg=init_cfg)
        self.num_layers = num_layers
        self.layers = nn.ModuleList(
            DeformableDetrTransformerDecoderLayer(**copy.deepcopy(layer_cfg))
            for _ in range(num_layers))
        self.embed_dims = self.layers[0].embed_dims
        self.query_pos_head = MLP(4, 2 * self.embed_dims, self.embed_dims, 2)

    def init_weights(self) -> None:
        super().init_weights()
        for layer in self.query_pos_head.layers:
            nn.init.xavier_uniform_(layer.weight)

    def forward(self, query: Tensor, reference_points: Tensor, value: Tensor,
                spatial_shapes: Tensor, level_start_index: Tensor,
                self_attn_mask: Tensor | None, reg_branches: nn.ModuleList,
                **kwargs) -> tuple[list[Tensor], list[Tensor]]:
        """Run the layers.

        Args:
            query: content queries ``(bs, nq, C)`` (denoising queries first).
            reference_points: initial boxes before the sigmoid ``(bs, nq, 4)``, detached.
            value: the flattened encoder features ``(bs, num_tokens, C)``.
            spatial_shapes: ``(levels, 2)`` heights and widths.
            level_start_index: ``(levels, )`` first token of each level.
            self_attn_mask: boolean ``(nq, nq)``, True where a query may not look.
            reg_branches: one box MLP per layer.

        Returns:
            ``(hidden_states, references)``: the output of every layer, and
            ``num_layers + 1`` reference boxes (sigmoid space): the initial one and the
            refined box after each layer, *not* detached, so that the head's box of
            layer ``i`` (``sigmoid(reg_i(h_i) + inverse_sigmoid(references[i]))``)
            passes gradients to the previous layer as in the official code.
        """
        ref = reference_points.sigmoid()
        hidden_states, references = [], [ref]
        for i, layer in enumerate(self.layers):
            query_pos = self.query_pos_head(ref)
            query = layer(query, query_pos=query_pos, value=value,
                          self_attn_mask=self_attn_mask, key_padding_mask=None,
                          spatial_shapes=spatial_shapes, level_start_index=level_start_index,
                          reference_points=ref.unsqueeze(2), **kwargs)
            new_ref = (reg_branches[i](query) + inverse_sigmoid(ref)).sigmoid()
            hidden_states.append(query)
            references.append(new_ref)
            ref = new_ref.detach()
        return hidden_states, references
