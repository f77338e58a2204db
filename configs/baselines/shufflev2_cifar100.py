# Student: ShuffleNetV2 1x, CIFAR variant (RepDistiller's ShuffleV2, 1.36 M parameters).
_base_ = [
    '../_base_/datasets/cifar100.py',
    '../_base_/schedules/cifar_sgd_240e.py',
    '../_base_/default_runtime_cls.py',
]
model = dict(
    type='ImageClassifier',
    data_preprocessor=_base_.data_preprocessor,
    backbone=dict(type='CifarShuffleNetV2', widen_factor=1.0),
    head=dict(type='LinearClsHead', num_classes=100, in_channels=1024))

# lightweight students train with lr 0.01 (RepDistiller's train_student.py, mdistiller, DIST)
optim_wrapper = dict(optimizer=dict(lr=0.01))
