# GFL (Generalized Focal Loss V1) with a width-scaled ResNet-18 for 96-px DigitsDet
# canvases; backbone and neck as in retinanet_r18_digits.py (trained from scratch:
# BN trained, no frozen stage). One square anchor per location of side
# 4 x stride (32-128 px at strides 8-32; ATSS picks the positives); each box edge
# is regressed as a distribution over reg_max + 1 = 9 bins (8 strides exceed the
# largest digit's centre-to-edge distance, ~23 px, at every level).
_base_ = ['./r18_fpn_digits.py']   # backbone, FPN, data preprocessor
head_convs = 4
fpn_channels = _base_.fpn_channels

model = dict(
    type='GFL',
    bbox_head=dict(
        type='GFLHead',
        num_classes=10,
        in_channels=fpn_channels,
        stacked_convs=head_convs,
        feat_channels=fpn_channels,
        norm_cfg=dict(type='GN', num_groups=8, requires_grad=True),
        anchor_generator=dict(
            type='AnchorGenerator',
            ratios=[1.0],
            octave_base_scale=4,
            scales_per_octave=1,
            strides=[8, 16, 32]),
        loss_cls=dict(type='QualityFocalLoss', use_sigmoid=True, beta=2.0, loss_weight=1.0),
        loss_dfl=dict(type='DistributionFocalLoss', loss_weight=0.25),
        reg_max=8,
        loss_bbox=dict(type='GIoULoss', loss_weight=2.0)),
    train_cfg=dict(
        assigner=dict(type='ATSSAssigner', topk=9),
        allowed_border=-1,
        pos_weight=-1,
        debug=False),
    test_cfg=dict(
        nms_pre=1000,
        min_bbox_size=0,
        score_thr=0.05,
        nms=dict(type='nms', iou_threshold=0.6),
        max_per_img=100))
