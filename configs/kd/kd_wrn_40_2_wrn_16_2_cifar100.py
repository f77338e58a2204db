# KD (Hinton et al. 2015) as RepDistiller runs it (-r 0.1 -a 0.9): 0.1 * CE +
# 0.9 * tau^2 KL(teacher || student) at tau 4 on the logits.
# WRN-16-2 student <- WRN-40-2 teacher on CIFAR-100. Published top-1: docs/cifar100.md.
# Train the teacher first: python tools/train.py configs/baselines/wrn_40_2_cifar100.py
_base_ = ['../_base_/cifar_pairs/wrn_40_2_wrn_16_2.py']

model = dict(
    # the student's cross-entropy weight (RepDistiller's -r 0.1)
    student_loss_schedule=dict(type='constant', value=0.1),
    distill=dict(
        logits=dict(student='head.fc', teacher='head.fc',
                    loss=dict(type='KDLoss', tau=4.0, loss_weight=0.9))))
