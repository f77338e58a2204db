# RT-DETR-R50 (Zhao et al. CVPR 2024) as in the official rtdetr_pytorch
# configs/rtdetr/include/rtdetr_r50vd.yml: ResNet-50-vd (frozen stem, frozen BN),
# hybrid encoder (AIFI on stride 32, CCFM), 6 decoder layers, 300 queries,
# contrastive denoising with 100 queries, VFL 1 + L1 5 + GIoU 2, matching costs
# focal 2 / L1 5 / GIoU 2. Images are only divided by 255 (no mean/std).
custom_imports = dict(imports=['kd.models.rtdetr'], allow_failed_imports=False)

embed_dims = 256
num_classes = 80
num_queries = 300
dec_layers = 6

model = dict(
    type='RTDETR',
    num_queries=num_queries,
    num_feature_levels=3,
    in_channels=embed_dims,
    data_preprocessor=dict(
        type='DetDataPreprocessor',
        mean=[0.0, 0.0, 0.0],
        std=[255.0, 255.0, 255.0],
        bgr_to_rgb=True,
        pad_size_divisor=32),
    backbone=dict(
        type='RTDETRResNetV1d',
        depth=50,
        num_stages=4,
        out_indices=(1, 2, 3),
        frozen_stages=0,                      # freeze_at: 0 (the stem)
        norm_cfg=dict(type='BN', requires_grad=False),
        norm_eval=True,                       # freeze_norm: True
        style='pytorch',
        init_cfg=None),                       # see configs/rtdetr/README.md: pretrained backbone
    neck=dict(
        type='RTDETRHybridEncoder',
        in_channels=[512, 1024, 2048],
        hidden_dim=embed_dims,
        use_encoder_idx=[2],
        num_encoder_layers=1,
        num_heads=8,
        dim_feedforward=1024,
        dropout=0.0,
        enc_act_cfg=dict(type='GELU'),
        pe_temperature=10000,
        expansion=1.0,
        depth_mult=1.0,
        act_cfg=dict(type='SiLU')),
    decoder=dict(
        num_layers=dec_layers,
        layer_cfg=dict(
            self_attn_cfg=dict(embed_dims=embed_dims, num_heads=8, dropout=0.0),
            cross_attn_cfg=dict(embed_dims=embed_dims, num_heads=8, num_levels=3,
                                num_points=4, dropout=0.0),
            ffn_cfg=dict(embed_dims=embed_dims, feedforward_channels=1024, ffn_drop=0.0,
                         act_cfg=dict(type='ReLU', inplace=True)))),
    bbox_head=dict(
        type='RTDETRHead',
        num_classes=num_classes,
        embed_dims=embed_dims,
        num_pred_layer=dec_layers,
        loss_cls=dict(type='RTDETRVarifocalLoss', alpha=0.75, gamma=2.0, loss_weight=1.0),
        loss_bbox=dict(type='L1Loss', loss_weight=5.0),
        loss_iou=dict(type='GIoULoss', loss_weight=2.0)),
    dn_cfg=dict(
        label_noise_scale=0.5,
        box_noise_scale=1.0,
        group_cfg=dict(dynamic=True, num_groups=None, num_dn_queries=100)),
    train_cfg=dict(
        assigner=dict(
            type='HungarianAssigner',
            match_costs=[
                dict(type='FocalLossCost', weight=2.0, alpha=0.25, gamma=2.0),
                dict(type='BBoxL1Cost', weight=5.0, box_format='xywh'),
                dict(type='IoUCost', iou_mode='giou', weight=2.0)
            ])),
    test_cfg=dict(max_per_img=num_queries))
