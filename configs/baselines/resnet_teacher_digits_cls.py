# Teacher: CIFAR ResNet-20 (16 base channels, ~0.27 M parameters) on DigitsCls.
_base_ = [
    '../_base_/datasets/digits_cls.py',
    '../_base_/schedules/cls_sgd_40e.py',
    '../_base_/default_runtime_cls.py',
]
model = dict(
    type='ImageClassifier',
    data_preprocessor=_base_.data_preprocessor,
    backbone=dict(type='CifarResNet', depth=20, base_channels=16),
    head=dict(type='LinearClsHead', num_classes=10, in_channels=64))
