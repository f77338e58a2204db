# DKD (Zhao et al. CVPR 2022), mdistiller's setting for this pair: CE 1, alpha 1,
# beta 6, tau 4, the loss ramped in linearly over 20 epochs (20 x 782
# iterations at batch 64).
# WRN-16-2 student <- WRN-40-2 teacher on CIFAR-100. Published top-1: docs/cifar100.md.
# Train the teacher first: python tools/train.py configs/baselines/wrn_40_2_cifar100.py
_base_ = ['../_base_/cifar_pairs/wrn_40_2_wrn_16_2.py']

model = dict(
    distill=dict(
        logits=dict(student='head.fc', teacher='head.fc',
                    loss=dict(type='DKDLoss', alpha=1.0, beta=6.0, tau=4.0,
                              warmup_iters=15640))))
