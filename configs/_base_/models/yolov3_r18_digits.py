# YOLOv3 with a width-scaled ResNet-18 for 96-px DigitsDet canvases, trained from
# scratch (BN trained, no frozen stage). Three levels (strides 32, 16, 8; 3x3, 6x6
# and 12x12 cells), three anchors each, from quantiles of the DigitsDet training
# boxes (w 8-30 px, h 12-42 px: tall digits). Task losses as MMDetection's YOLOv3
# (sums over the batch).
_base_ = ['./r18_digits.py']   # backbone, data preprocessor
width = _base_.width

model = dict(
    type='YOLOV3',
    neck=dict(
        type='YOLOV3Neck',
        num_scales=3,
        in_channels=[width * 8, width * 4, width * 2],    # deepest first
        out_channels=[width * 4, width * 2, width]),
    bbox_head=dict(
        type='YOLOV3Head',
        num_classes=10,
        in_channels=[width * 4, width * 2, width],
        out_channels=[width * 8, width * 4, width * 2],
        anchor_generator=dict(
            type='YOLOAnchorGenerator',
            base_sizes=[[(20, 29), (24, 35), (30, 42)],
                        [(13, 19), (15, 21), (17, 25)],
                        [(8, 12), (10, 15), (11, 17)]],
            strides=[32, 16, 8]),
        bbox_coder=dict(type='YOLOBBoxCoder'),
        featmap_strides=[32, 16, 8],
        loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0,
                      reduction='sum'),
        loss_conf=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0,
                       reduction='sum'),
        loss_xy=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=2.0,
                     reduction='sum'),
        loss_wh=dict(type='MSELoss', loss_weight=2.0, reduction='sum')),
    train_cfg=dict(
        assigner=dict(type='GridAssigner', pos_iou_thr=0.5, neg_iou_thr=0.5, min_pos_iou=0)),
    test_cfg=dict(
        nms_pre=1000,
        min_bbox_size=0,
        score_thr=0.05,
        conf_thr=0.005,
        nms=dict(type='nms', iou_threshold=0.45),
        max_per_img=100))
