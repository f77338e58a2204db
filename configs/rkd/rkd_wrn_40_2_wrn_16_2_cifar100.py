# RKD (Park et al. CVPR 2019) as RepDistiller runs it (-b 1): distance (25) and
# angle (50) terms on the pooled embedding (the classifier's input), plus CE.
# WRN-16-2 student <- WRN-40-2 teacher on CIFAR-100. Published top-1: docs/cifar100.md.
# Train the teacher first: python tools/train.py configs/baselines/wrn_40_2_cifar100.py
_base_ = ['../_base_/cifar_pairs/wrn_40_2_wrn_16_2.py']

model = dict(
    distill=dict(
        embedding=dict(student=dict(source='head.fc', type='module_inputs', index=0),
                       teacher=dict(source='head.fc', type='module_inputs', index=0),
                       loss=dict(type='RKDLoss', w_dist=25.0, w_angle=50.0))))
