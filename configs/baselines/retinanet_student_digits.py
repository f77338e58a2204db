# Student: RetinaNet, ResNet-18 at quarter width (16 base channels), FPN 32,
# one head conv.  1500 iterations, batch 16, with the teacher's online
# augmentation (digits_det_aug.py) and a 300-iteration warm-up: without them its
# mAP spread over seeds 0-2 was 2.3 points (docs/results_quickstart.md).
_base_ = [
    '../_base_/models/retinanet_r18_digits.py',
    '../_base_/datasets/digits_det_aug.py',
    '../_base_/schedules/det_adamw_iters.py',
    '../_base_/default_runtime_det.py',
]
width = 16
fpn_channels = 32
model = dict(
    backbone=dict(base_channels=width),
    neck=dict(in_channels=[width * 2, width * 4, width * 8], out_channels=fpn_channels),
    bbox_head=dict(in_channels=fpn_channels, feat_channels=fpn_channels, stacked_convs=1))

max_iters = 1500
warmup_iters = 300
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=warmup_iters),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=warmup_iters, end=max_iters,
         T_max=max_iters - warmup_iters, eta_min_ratio=0.05),
]
