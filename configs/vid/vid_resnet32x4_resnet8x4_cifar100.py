# VID (Ahn et al. CVPR 2019) as RepDistiller runs it (-b 1): one Gaussian regressor per
# stage (mid channels = teacher channels, initial variance 5), weight 1 each, plus CE.
# ResNet-8x4 student <- ResNet-32x4 teacher on CIFAR-100. Published top-1: docs/cifar100.md.
# Train the teacher first: python tools/train.py configs/baselines/resnet32x4_cifar100.py
_base_ = ['../_base_/cifar_pairs/resnet32x4_resnet8x4.py']

model = dict(
    distill=dict(
        stages=dict(student='backbone', teacher='backbone',
                    loss=dict(type='VIDLoss', loss_weight=1.0))))
