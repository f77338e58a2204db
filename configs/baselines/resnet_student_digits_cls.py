# Student: CIFAR ResNet-8 at quarter width (4 base channels, ~5 k parameters) on DigitsCls,
# trained on the teacher's schedule (40 epochs of SGD, configs/_base_/schedules/cls_sgd_40e.py).
# Shorter schedules measured the length of a seed-dependent plateau at chance, not the
# recipe (docs/results_quickstart.md, "Classification stability").
_base_ = [
    '../_base_/datasets/digits_cls.py',
    '../_base_/schedules/cls_sgd_40e.py',
    '../_base_/default_runtime_cls.py',
]
model = dict(
    type='ImageClassifier',
    data_preprocessor=_base_.data_preprocessor,
    backbone=dict(type='CifarResNet', depth=8, base_channels=4),
    head=dict(type='LinearClsHead', num_classes=10, in_channels=16))
