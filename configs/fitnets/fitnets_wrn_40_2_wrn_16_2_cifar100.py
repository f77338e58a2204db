# FitNets (Romero et al. ICLR 2015) as RepDistiller runs it (hint layer 2, -b 100):
# MSE between the teacher's second stage and the student's through a 3x3
# conv-BN-ReLU regressor, weight 100, plus the student's cross-entropy (weight 1).
# WRN-16-2 student <- WRN-40-2 teacher on CIFAR-100. Published top-1: docs/cifar100.md.
# Train the teacher first: python tools/train.py configs/baselines/wrn_40_2_cifar100.py
_base_ = ['../_base_/cifar_pairs/wrn_40_2_wrn_16_2.py']

model = dict(
    distill=dict(
        hint=dict(student=dict(source='backbone', index=1),
                  teacher=dict(source='backbone', index=1),
                  connector=dict(type='ConvConnector', kernel_size=3, norm='bn',
                                 act='relu'),
                  loss=dict(type='FeatureMSELoss', loss_weight=100.0))))
