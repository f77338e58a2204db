# DINO (4-scale deformable attention, contrastive denoising, mixed query
# selection; Zhang et al. ICLR 2023) scaled down for 96-px DigitsDet canvases.
# ResNet-18 at a reduced width, trained from scratch (no model-zoo weights, so
# BN is trained and no stage is frozen). Strides 8/16/32 plus one extra
# stride-64 level from the ChannelMapper: 12x12 + 6x6 + 3x3 + 2x2 = 193 tokens.
# The values below are the student's; dino_teacher_digits.py overrides the
# dicts that use them (a child config cannot change a base variable).
_base_ = ['./r18_digits.py']   # backbone, data preprocessor
width = 16           # ResNet base channels (64 = the standard ResNet-18)
# mmdet 3.3's DinoTransformerDecoder encodes the reference boxes with the
# default 128 features per coordinate (4 x 128 = 2 x 256), so DINO's
# transformer width must stay 256; the models are scaled down in depth, FFN
# width and backbone width instead.
embed_dims = 256
ffn_dims = 512       # feed-forward width (2048 in the COCO model)
num_heads = 8
enc_layers = 2
dec_layers = 2
num_queries = 30     # matching queries; a canvas holds 2-6 digits

model = dict(
    type='DINO',
    num_queries=num_queries,
    with_box_refine=True,
    as_two_stage=True,
    num_feature_levels=4,
    data_preprocessor=dict(pad_size_divisor=1),
    backbone=dict(base_channels=width),
    neck=dict(
        type='ChannelMapper',
        in_channels=[width * 2, width * 4, width * 8],
        kernel_size=1,
        out_channels=embed_dims,
        act_cfg=None,
        norm_cfg=dict(type='GN', num_groups=32),
        num_outs=4),
    encoder=dict(
        num_layers=enc_layers,
        layer_cfg=dict(
            self_attn_cfg=dict(embed_dims=embed_dims, num_heads=num_heads, num_levels=4,
                               dropout=0.0),
            ffn_cfg=dict(embed_dims=embed_dims, feedforward_channels=ffn_dims,
                         ffn_drop=0.0))),
    decoder=dict(
        num_layers=dec_layers,
        return_intermediate=True,
        layer_cfg=dict(
            self_attn_cfg=dict(embed_dims=embed_dims, num_heads=num_heads, dropout=0.0),
            cross_attn_cfg=dict(embed_dims=embed_dims, num_heads=num_heads, num_levels=4,
                                dropout=0.0),
            ffn_cfg=dict(embed_dims=embed_dims, feedforward_channels=ffn_dims,
                         ffn_drop=0.0)),
        post_norm_cfg=None),
    positional_encoding=dict(num_feats=embed_dims // 2, normalize=True, offset=0.0,
                             temperature=20),
    bbox_head=dict(
        type='DINOHead',
        num_classes=10,
        embed_dims=embed_dims,
        sync_cls_avg_factor=True,
        loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25,
                      loss_weight=1.0),
        loss_bbox=dict(type='L1Loss', loss_weight=5.0),
        loss_iou=dict(type='GIoULoss', loss_weight=2.0)),
    dn_cfg=dict(
        label_noise_scale=0.5,
        box_noise_scale=1.0,
        group_cfg=dict(dynamic=True, num_groups=None, num_dn_queries=30)),
    train_cfg=dict(
        assigner=dict(
            type='HungarianAssigner',
            match_costs=[
                dict(type='FocalLossCost', weight=2.0),
                dict(type='BBoxL1Cost', weight=5.0, box_format='xywh'),
                dict(type='IoUCost', iou_mode='giou', weight=2.0)
            ])),
    test_cfg=dict(max_per_img=num_queries))
