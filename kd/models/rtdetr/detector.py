"""RT-DETR (Zhao et al. "DETRs Beat YOLOs on Real-time Object Detection", CVPR 2024).

An mmdet ``DetectionTransformer``: ``backbone`` (ResNet-vd) -> ``neck`` (the hybrid
encoder, AIFI + CCFM, :mod:`.hybrid_encoder`) -> input projection and flattening ->
IoU-aware query selection -> decoder (:mod:`.decoder`) with contrastive denoising
queries in training -> ``bbox_head`` (:mod:`.head`). Behaviour read from
``RTDETRTransformer`` of the official ``rtdetr_pytorch``
(``src/zoo/rtdetr/rtdetr_decoder.py``).

Query selection: every encoder token gets a proposal, ``anchor + enc_reg(tok)``
(anchors centred on the token, side ``0.05 * 2**level``; tokens whose anchor lies
within ``eps`` of the border are zeroed and their proposal is infinite); the
``num_queries`` tokens with the highest class logit become the queries: their
(detached) features are the content queries and their (detached) proposals the
initial reference boxes. The top-k logits and boxes get the same losses as a
decoder layer (the "IoU-aware" part comes from the varifocal loss on them).
"""
from __future__ import annotations

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmdet.models.detectors import DetectionTransformer
from mmdet.registry import MODELS
from mmdet.structures import OptSampleList
from torch import Tensor

from .decoder import RTDETRTransformerDecoder
from .denoising import RTDETRCdnQueryGenerator


def generate_anchors(spatial_shapes: list[tuple[int, int]], grid_size: float = 0.05,
                     eps: float = 1e-2, device=None, dtype=torch.float32
                     ) -> tuple[Tensor, Tensor]:
    """Anchors ``(1, tokens, 4)`` before the sigmoid and their valid mask ``(1, tokens, 1)``.

    The anchor of token ``(y, x)`` of level ``l`` (an ``h x w`` map) is
    ``((x + .5) / w, (y + .5) / h, s, s)`` with ``s = grid_size * 2**l``; it is valid
    when all four values lie in ``(eps, 1 - eps)``, and ``inf`` otherwise.
    """
    anchors = []
    for level, (h, w) in enumerate(spatial_shapes):
        ys, xs = torch.meshgrid(torch.arange(h, dtype=dtype, device=device),
                                torch.arange(w, dtype=dtype, device=device), indexing='ij')
        centre = torch.stack([(xs + 0.5) / w, (ys + 0.5) / h], dim=-1).reshape(-1, 2)
        side = torch.full_like(centre, grid_size * 2.0 ** level)
        anchors.append(torch.cat([centre, side], dim=-1))
    anchors = torch.cat(anchors)[None]
    valid = ((anchors > eps) & (anchors < 1 - eps)).all(-1, keepdim=True)
    logit = torch.log(anchors / (1 - anchors))
    return torch.where(valid, logit, torch.full_like(logit, float('inf'))), valid


@MODELS.register_module()
class RTDETR(DetectionTransformer):
    """RT-DETR as an mmdet detector.

    Args:
        backbone: the backbone config (``RTDETRResNetV1d``).
        neck: the hybrid encoder config (``RTDETRHybridEncoder``).
        decoder: ``dict(num_layers=..., layer_cfg=...)`` for
            :class:`RTDETRTransformerDecoder`.
        bbox_head: the ``RTDETRHead`` config.
        num_queries: matching queries (300).
        num_feature_levels: levels the decoder attends to (3; as many as the neck gives).
        in_channels: channels of each neck level (256).
        dn_cfg: ``CdnQueryGenerator`` arguments (``label_noise_scale=0.5``,
            ``box_noise_scale=1.0``, ``group_cfg=dict(dynamic=True, num_dn_queries=100)``);
            ``None`` trains without denoising.
        anchor_eps: the border margin of valid anchors (0.01).
        train_cfg, test_cfg, data_preprocessor, init_cfg: as for mmdet detectors.
    """

    def __init__(self, *args, num_feature_levels: int = 3, in_channels: int = 256,
                 dn_cfg: dict | None = None, anchor_eps: float = 1e-2, **kwargs):
        self.num_feature_levels = num_feature_levels
        self.in_channels = in_channels
        self.dn_cfg = dn_cfg
        self.anchor_eps = anchor_eps
        super().__init__(*args, **kwargs)

    def _init_layers(self) -> None:
        decoder = dict(self.decoder)
        self.decoder = RTDETRTransformerDecoder(**decoder)
        self.embed_dims = self.decoder.embed_dims
        head_layers = self.bbox_head.num_pred_layer
        if head_layers != self.decoder.num_layers:
            raise ValueError(f'RTDETR: bbox_head.num_pred_layer ({head_layers}) must equal '
                             f'decoder.num_layers ({self.decoder.num_layers})')
        self.input_proj = nn.ModuleList(
            ConvModule(self.in_channels, self.embed_dims, 1, norm_cfg=dict(type='BN'),
                       act_cfg=None)
            for _ in range(self.num_feature_levels))
        self.enc_output = nn.Sequential(nn.Linear(self.embed_dims, self.embed_dims),
                                        nn.LayerNorm(self.embed_dims))
        self.dn_query_generator = None
        if self.dn_cfg:
            self.dn_query_generator = RTDETRCdnQueryGenerator(
                **self.dn_cfg, num_classes=self.bbox_head.num_classes,
                embed_dims=self.embed_dims, num_matching_queries=self.num_queries)

    def init_weights(self) -> None:
        super().init_weights()
        nn.init.xavier_uniform_(self.enc_output[0].weight)

    # The encoder of RT-DETR is the neck; these steps only flatten its levels.
    def pre_transformer(self, img_feats: tuple[Tensor], batch_data_samples: OptSampleList = None
                        ) -> tuple[dict, dict]:
        if len(img_feats) != self.num_feature_levels:
            raise ValueError(f'RTDETR: the neck gives {len(img_feats)} levels, '
                             f'num_feature_levels is {self.num_feature_levels}')
        tokens, shapes = [], []
        for proj, feat in zip(self.input_proj, img_feats):
            feat = proj(feat)
            shapes.append(feat.shape[2:])
            tokens.append(feat.flatten(2).transpose(1, 2))
        memory = torch.cat(tokens, dim=1)
        spatial_shapes = torch.as_tensor(shapes, dtype=torch.long, device=memory.device)
        level_start_index = torch.cat([spatial_shapes.new_zeros(1),
                                       spatial_shapes.prod(1).cumsum(0)[:-1]])
        common = dict(spatial_shapes=spatial_shapes, level_start_index=level_start_index)
        return dict(feat=memory, **common), dict(memory=memory, **common)

    def forward_encoder(self, feat: Tensor, **kwargs) -> dict:
        return dict(memory=feat)

    def pre_decoder(self, memory: Tensor, spatial_shapes: Tensor,
                    batch_data_samples: OptSampleList = None) -> tuple[dict, dict]:
        """IoU-aware query selection (module docstring) and the denoising queries."""
        anchors, valid = generate_anchors([tuple(s) for s in spatial_shapes.tolist()],
                                          eps=self.anchor_eps, device=memory.device,
                                          dtype=memory.dtype)
        output_memory = self.enc_output(valid.to(memory.dtype) * memory)
        head = self.bbox_head
        enc_logits = head.enc_cls_branch(output_memory)
        enc_coord_unact = head.enc_reg_branch(output_memory) + anchors
        topk = enc_logits.max(-1).values.topk(self.num_queries, dim=1).indices

        def take(x: Tensor) -> Tensor:
            return x.gather(1, topk.unsqueeze(-1).expand(-1, -1, x.shape[-1]))

        ref_unact = take(enc_coord_unact)
        enc_topk_logits, enc_topk_boxes = take(enc_logits), ref_unact.sigmoid()
        query = take(output_memory).detach()
        dn_mask, dn_meta = None, None
        if self.training and self.dn_query_generator is not None:
            dn_label, dn_box, dn_mask, dn_meta = self.dn_query_generator(batch_data_samples)
            if dn_label is not None:
                query = torch.cat([dn_label, query], dim=1)
                ref_unact = torch.cat([dn_box, ref_unact], dim=1)
        decoder_inputs = dict(query=query, reference_points=ref_unact.detach(),
                              self_attn_mask=dn_mask)
        head_inputs = dict(enc_outputs_class=enc_topk_logits,
                           enc_outputs_coord=enc_topk_boxes, dn_meta=dn_meta) \
            if self.training else {}
        return decoder_inputs, head_inputs

    def forward_decoder(self, query: Tensor, reference_points: Tensor, memory: Tensor,
                        spatial_shapes: Tensor, level_start_index: Tensor,
                        self_attn_mask: Tensor | None = None) -> dict:
        hidden_states, references = self.decoder(
            query, reference_points, memory, spatial_shapes, level_start_index,
            self_attn_mask, reg_branches=self.bbox_head.reg_branches)
        return dict(hidden_states=hidden_states, references=references)

    def forward_transformer(self, img_feats: tuple[Tensor],
                            batch_data_samples: OptSampleList = None) -> dict:
        """``pre_transformer -> pre_decoder -> decoder``; the dict the head takes."""
        _, decoder_inputs = self.pre_transformer(img_feats, batch_data_samples)
        extra, head_inputs = self.pre_decoder(decoder_inputs['memory'],
                                              decoder_inputs['spatial_shapes'],
                                              batch_data_samples)
        decoder_inputs.update(extra)
        head_inputs.update(self.forward_decoder(**decoder_inputs))
        return head_inputs
