# Teacher: DINO with a ResNet-18 at half width (32 base channels), a 256-d
# transformer (8 heads, FFN 1024), 3 encoder and 3 decoder layers, 30 queries.
# Same data, optimiser and schedule as the student (dino_student_digits.py).
_base_ = ['./dino_student_digits.py']
width = 32
embed_dims = 256
ffn_dims = 1024
num_heads = 8
enc_layers = 3
dec_layers = 3

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
