# RetinaNet with a width-scaled ResNet-18 for 96-px DigitsDet canvases.
# Trained from scratch (no model-zoo weights here), so BN is trained
# (norm_eval=False) and no stage is frozen.  Three FPN levels (strides 8-32)
# with anchors of 16-100 px cover the 12-44 px digits.
_base_ = ['./r18_fpn_digits.py']   # backbone, FPN, data preprocessor
head_convs = 4
fpn_channels = _base_.fpn_channels

model = dict(
    type='RetinaNet',
    bbox_head=dict(
        type='RetinaHead',
        num_classes=10,
        in_channels=fpn_channels,
        stacked_convs=head_convs,
        feat_channels=fpn_channels,
        anchor_generator=dict(
            type='AnchorGenerator',
            octave_base_scale=2,
            scales_per_octave=3,
            ratios=[0.5, 1.0, 2.0],
            strides=[8, 16, 32]),
        bbox_coder=dict(
            type='DeltaXYWHBBoxCoder',
            target_means=[.0, .0, .0, .0],
            target_stds=[1.0, 1.0, 1.0, 1.0]),
        loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25,
                      loss_weight=1.0),
        loss_bbox=dict(type='L1Loss', loss_weight=1.0)),
    train_cfg=dict(
        assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.4,
                      min_pos_iou=0, ignore_iof_thr=-1),
        sampler=dict(type='PseudoSampler'),
        allowed_border=-1,
        pos_weight=-1,
        debug=False),
    test_cfg=dict(
        nms_pre=1000,
        min_bbox_size=0,
        score_thr=0.05,
        nms=dict(type='nms', iou_threshold=0.5),
        max_per_img=100))
