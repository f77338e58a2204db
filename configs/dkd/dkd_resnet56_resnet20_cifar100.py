# DKD (Zhao et al. CVPR 2022), mdistiller's setting for this pair: CE 1, alpha 1,
# beta 2, tau 4, the loss ramped in linearly over 20 epochs (20 x 782
# iterations at batch 64).
# ResNet-20 student <- ResNet-56 teacher on CIFAR-100. Published top-1: docs/cifar100.md.
# Train the teacher first: python tools/train.py configs/baselines/resnet56_cifar100.py
_base_ = ['../_base_/cifar_pairs/resnet56_resnet20.py']

model = dict(
    distill=dict(
        logits=dict(student='head.fc', teacher='head.fc',
                    loss=dict(type='DKDLoss', alpha=1.0, beta=2.0, tau=4.0,
                              warmup_iters=15640))))
