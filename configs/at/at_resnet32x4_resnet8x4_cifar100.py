# AT (Zagoruyko & Komodakis ICLR 2017) as RepDistiller runs it (-b 1000): attention
# maps (p 2) of the three stages, weight 1000 each, plus cross-entropy (weight 1).
# ResNet-8x4 student <- ResNet-32x4 teacher on CIFAR-100. Published top-1: docs/cifar100.md.
# Train the teacher first: python tools/train.py configs/baselines/resnet32x4_cifar100.py
_base_ = ['../_base_/cifar_pairs/resnet32x4_resnet8x4.py']

model = dict(
    distill=dict(
        stages=dict(student='backbone', teacher='backbone',
                    loss=dict(type='ATLoss', p=2, loss_weight=1000.0))))
