# VID (Ahn et al. CVPR 2019) as RepDistiller runs it (-b 1): one Gaussian regressor per
# stage (mid channels = teacher channels, initial variance 5), weight 1 each, plus CE.
# The third stage is backbone.layer3 (before the WideResNet's final BN-ReLU).
# WRN-16-2 student <- WRN-40-2 teacher on CIFAR-100. Published top-1: docs/cifar100.md.
# Train the teacher first: python tools/train.py configs/baselines/wrn_40_2_cifar100.py
_base_ = ['../_base_/cifar_pairs/wrn_40_2_wrn_16_2.py']

model = dict(
    distill=dict(
        stages=dict(student='backbone', teacher='backbone', levels=[0, 1],
                    loss=dict(type='VIDLoss', loss_weight=1.0)),
        stage3=dict(student='backbone.layer3', teacher='backbone.layer3',
                    loss=dict(type='VIDLoss', loss_weight=1.0))))
