# Teacher: YOLOv3, ResNet-18 at half width (32 base channels), trained twice as
# long as the student (3000 iterations).
_base_ = [
    '../_base_/models/yolov3_r18_digits.py',
    '../_base_/datasets/digits_det.py',
    '../_base_/schedules/det_adamw_iters.py',
    '../_base_/default_runtime_det.py',
]
width = 32
model = dict(
    backbone=dict(base_channels=width),
    neck=dict(in_channels=[width * 8, width * 4, width * 2],
              out_channels=[width * 4, width * 2, width]),
    bbox_head=dict(in_channels=[width * 4, width * 2, width],
                   out_channels=[width * 8, width * 4, width * 2]))

max_iters = 3000
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=100, end=max_iters,
         T_max=max_iters - 100, eta_min_ratio=0.05),
]
