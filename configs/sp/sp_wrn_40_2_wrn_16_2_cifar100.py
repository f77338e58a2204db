# SP (Tung & Mori ICCV 2019) as RepDistiller runs it (-b 3000): batch similarity of
# the last stage (before any final BN-ReLU), weight 3000, plus cross-entropy.
# WRN-16-2 student <- WRN-40-2 teacher on CIFAR-100. Published top-1: docs/cifar100.md.
# Train the teacher first: python tools/train.py configs/baselines/wrn_40_2_cifar100.py
_base_ = ['../_base_/cifar_pairs/wrn_40_2_wrn_16_2.py']

model = dict(
    distill=dict(
        stage3=dict(student='backbone.layer3', teacher='backbone.layer3',
                    loss=dict(type='SPKDLoss', loss_weight=3000.0))))
