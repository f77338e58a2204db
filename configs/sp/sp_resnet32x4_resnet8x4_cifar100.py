# SP (Tung & Mori ICCV 2019) as RepDistiller runs it (-b 3000): batch similarity of
# the last stage (before any final BN-ReLU), weight 3000, plus cross-entropy.
# ResNet-8x4 student <- ResNet-32x4 teacher on CIFAR-100. Published top-1: docs/cifar100.md.
# Train the teacher first: python tools/train.py configs/baselines/resnet32x4_cifar100.py
_base_ = ['../_base_/cifar_pairs/resnet32x4_resnet8x4.py']

model = dict(
    distill=dict(
        stage3=dict(student='backbone.layer3', teacher='backbone.layer3',
                    loss=dict(type='SPKDLoss', loss_weight=3000.0))))
