# DIST (Huang et al. NeurIPS 2022), the paper's CIFAR-100 setting: beta 2, gamma 2,
# tau 4, with the student's cross-entropy (weight 1).
# ShuffleNetV2 student <- ResNet-32x4 teacher on CIFAR-100. Published top-1: docs/cifar100.md.
# Train the teacher first: python tools/train.py configs/baselines/resnet32x4_cifar100.py
_base_ = ['../_base_/cifar_pairs/resnet32x4_shufflev2.py']

model = dict(
    distill=dict(
        logits=dict(student='head.fc', teacher='head.fc',
                    loss=dict(type='DISTLoss', beta=2.0, gamma=2.0, tau=4.0))))
