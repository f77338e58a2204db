# RKD (Park et al. CVPR 2019) as RepDistiller runs it (-b 1): distance (25) and
# angle (50) terms on the pooled embedding (the classifier's input), plus CE.
# ResNet-8x4 student <- ResNet-32x4 teacher on CIFAR-100. Published top-1: docs/cifar100.md.
# Train the teacher first: python tools/train.py configs/baselines/resnet32x4_cifar100.py
_base_ = ['../_base_/cifar_pairs/resnet32x4_resnet8x4.py']

model = dict(
    distill=dict(
        embedding=dict(student=dict(source='head.fc', type='module_inputs', index=0),
                       teacher=dict(source='head.fc', type='module_inputs', index=0),
                       loss=dict(type='RKDLoss', w_dist=25.0, w_angle=50.0))))
