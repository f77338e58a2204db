# Teacher: GFL, ResNet-18 at half width (32 base channels), FPN 64, two head
# convs, trained twice as long as the student (3000 iterations).
_base_ = [
    '../_base_/models/gfl_r18_digits.py',
    '../_base_/datasets/digits_det.py',
    '../_base_/schedules/det_adamw_iters.py',
    '../_base_/default_runtime_det.py',
]
width = 32
fpn_channels = 64
model = dict(
    backbone=dict(base_channels=width),
    neck=dict(in_channels=[width * 2, width * 4, width * 8], out_channels=fpn_channels),
    bbox_head=dict(in_channels=fpn_channels, feat_channels=fpn_channels, stacked_convs=2))

max_iters = 3000
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=100, end=max_iters,
         T_max=max_iters - 100, eta_min_ratio=0.05),
]
