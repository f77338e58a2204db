# Student: GFL, ResNet-18 at quarter width (16 base channels), FPN 32, one head
# conv (as the RetinaNet student). 1500 iterations, batch 16.
_base_ = [
    '../_base_/models/gfl_r18_digits.py',
    '../_base_/datasets/digits_det.py',
    '../_base_/schedules/det_adamw_iters.py',
    '../_base_/default_runtime_det.py',
]
width = 16
fpn_channels = 32
model = dict(
    backbone=dict(base_channels=width),
    neck=dict(in_channels=[width * 2, width * 4, width * 8], out_channels=fpn_channels),
    bbox_head=dict(in_channels=fpn_channels, feat_channels=fpn_channels, stacked_convs=1))
