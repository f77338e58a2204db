# Student: DINO with a ResNet-18 at quarter width (16 base channels), a 256-d
# transformer (8 heads, FFN 512), 2 encoder and 2 decoder layers, 30 queries.
# Trained from scratch on DigitsDet with AdamW (lr 2e-4, gradient clipping 0.1
# as in DINO) on the iteration schedule of the detection quickstart.
_base_ = [
    '../_base_/models/dino_r18_digits.py',
    '../_base_/datasets/digits_det.py',
    '../_base_/schedules/det_adamw_iters.py',
    '../_base_/default_runtime_det.py',
]
width = 16
embed_dims = 256  # fixed: mmdet 3.3's DINO decoder encodes reference boxes in 4x128 dims
ffn_dims = 512
num_heads = 8
enc_layers = 2
dec_layers = 2

model = dict(
    backbone=dict(base_channels=width),
    neck=dict(in_channels=[width * 2, width * 4, width * 8], out_channels=embed_dims),
    encoder=dict(
        num_layers=enc_layers,
        layer_cfg=dict(
            self_attn_cfg=dict(embed_dims=embed_dims, num_heads=num_heads),
            ffn_cfg=dict(embed_dims=embed_dims, feedforward_channels=ffn_dims))),
    decoder=dict(
        num_layers=dec_layers,
        layer_cfg=dict(
            self_attn_cfg=dict(embed_dims=embed_dims, num_heads=num_heads),
            cross_attn_cfg=dict(embed_dims=embed_dims, num_heads=num_heads),
            ffn_cfg=dict(embed_dims=embed_dims, feedforward_channels=ffn_dims))),
    positional_encoding=dict(num_feats=embed_dims // 2),
    bbox_head=dict(embed_dims=embed_dims))

optim_wrapper = dict(
    optimizer=dict(lr=2e-4, weight_decay=1e-4),
    clip_grad=dict(max_norm=0.1, norm_type=2))
