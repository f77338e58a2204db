# Student: YOLOv3, ResNet-18 at quarter width (16 base channels). 1500 iterations,
# batch 16.
_base_ = [
    '../_base_/models/yolov3_r18_digits.py',
    '../_base_/datasets/digits_det.py',
    '../_base_/schedules/det_adamw_iters.py',
    '../_base_/default_runtime_det.py',
]
width = 16
model = dict(
    backbone=dict(base_channels=width),
    neck=dict(in_channels=[width * 8, width * 4, width * 2],
              out_channels=[width * 4, width * 2, width]),
    bbox_head=dict(in_channels=[width * 4, width * 2, width],
                   out_channels=[width * 8, width * 4, width * 2]))
