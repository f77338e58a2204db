# Student of the RT-DETR distillation recipes on DigitsDet: rtdetr_r18vd_digits.py with
# the hybrid encoder and the decoder at 64 channels instead of 128 (8 heads, FFN 256 in
# AIFI and in the decoder), the same ResNet-18-vd at 16 base channels, 3 decoder
# layers, 30 queries, 30 denoising queries; 1.31 M parameters (1,310,416 counted on
# the built model). Same data, optimiser and 1500-iteration schedule as
# rtdetr_r18vd_digits.py. Its neck gives 64-channel maps at strides 8/16/32 (12x12,
# 6x6, 3x3): the "encoder features" of the feature recipes.
_base_ = ['./rtdetr_r18vd_digits.py']
embed_dims = 64
ffn_dims = 256

model = dict(
    in_channels=embed_dims,
    neck=dict(hidden_dim=embed_dims, dim_feedforward=ffn_dims),
    decoder=dict(layer_cfg=dict(
        self_attn_cfg=dict(embed_dims=embed_dims),
        cross_attn_cfg=dict(embed_dims=embed_dims),
        ffn_cfg=dict(embed_dims=embed_dims, feedforward_channels=ffn_dims))),
    bbox_head=dict(embed_dims=embed_dims))
