# AT (Zagoruyko & Komodakis ICLR 2017) as RepDistiller runs it (-b 1000): attention
# maps (p 2) of the three stages, weight 1000 each, plus cross-entropy (weight 1).
# The WideResNet backbone ends with BN-ReLU, so the third map is taken from
# backbone.layer3 (before it), as RepDistiller does.
# WRN-16-2 student <- WRN-40-2 teacher on CIFAR-100. Published top-1: docs/cifar100.md.
# Train the teacher first: python tools/train.py configs/baselines/wrn_40_2_cifar100.py
_base_ = ['../_base_/cifar_pairs/wrn_40_2_wrn_16_2.py']

model = dict(
    distill=dict(
        stages=dict(student='backbone', teacher='backbone', levels=[0, 1],
                    loss=dict(type='ATLoss', p=2, loss_weight=1000.0)),
        stage3=dict(student='backbone.layer3', teacher='backbone.layer3',
                    loss=dict(type='ATLoss', p=2, loss_weight=1000.0))))
