# Student: VGG-8 with BN (RepDistiller's vgg8, 3.97 M parameters) on CIFAR-100.
_base_ = [
    '../_base_/datasets/cifar100.py',
    '../_base_/schedules/cifar_sgd_240e.py',
    '../_base_/default_runtime_cls.py',
]
model = dict(
    type='ImageClassifier',
    data_preprocessor=_base_.data_preprocessor,
    backbone=dict(type='CifarVGG', depth=8),
    head=dict(type='LinearClsHead', num_classes=100, in_channels=512))
