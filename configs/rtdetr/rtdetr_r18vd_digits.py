# RT-DETR scaled down for the 96-px DigitsDet canvases, trained from scratch on CPU:
# ResNet-18-vd at quarter width (16 base channels; BN trained, nothing frozen as in
# the official R18 config), hybrid encoder and decoder at 128 channels (8 heads,
# FFN 512 / 256), 3 decoder layers as in RT-DETR-R18, 30 matching queries (a
# canvas holds 2-6 digits) and 30 denoising queries. Levels: strides 8/16/32 =
# 12x12 + 6x6 + 3x3 tokens. Losses, matching and denoising as in the paper.
_base_ = [
    '../_base_/models/rtdetr_r50vd.py',
    '../_base_/datasets/digits_det.py',
    '../_base_/schedules/det_adamw_iters.py',
    '../_base_/default_runtime_det.py',
]
width = 16
embed_dims = 128
num_queries = 30
dec_layers = 3

model = dict(
    num_queries=num_queries,
    in_channels=embed_dims,
    data_preprocessor=dict(pad_size_divisor=1),
    backbone=dict(depth=18, base_channels=width, frozen_stages=-1,
                  norm_cfg=dict(type='BN', requires_grad=True), norm_eval=False),
    neck=dict(in_channels=[width * 2, width * 4, width * 8], hidden_dim=embed_dims,
              dim_feedforward=512, expansion=0.5),
    decoder=dict(
        num_layers=dec_layers,
        layer_cfg=dict(
            self_attn_cfg=dict(embed_dims=embed_dims),
            cross_attn_cfg=dict(embed_dims=embed_dims),
            ffn_cfg=dict(embed_dims=embed_dims, feedforward_channels=256))),
    bbox_head=dict(num_classes=10, embed_dims=embed_dims, num_pred_layer=dec_layers),
    dn_cfg=dict(group_cfg=dict(num_dn_queries=30)),
    test_cfg=dict(max_per_img=num_queries))

# AdamW as the official recipe (lr 1e-4 there, with a pretrained backbone at 1e-5);
# from scratch on the short schedule a larger lr for everything, gradient clipping 0.1.
optim_wrapper = dict(
    optimizer=dict(lr=4e-4, weight_decay=1e-4),
    clip_grad=dict(max_norm=0.1, norm_type=2))
