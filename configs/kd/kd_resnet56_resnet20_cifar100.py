# KD (Hinton et al. 2015) as RepDistiller runs it (-r 0.1 -a 0.9): 0.1 * CE +
# 0.9 * tau^2 KL(teacher || student) at tau 4 on the logits.
# ResNet-20 student <- ResNet-56 teacher on CIFAR-100. Published top-1: docs/cifar100.md.
# Train the teacher first: python tools/train.py configs/baselines/resnet56_cifar100.py
_base_ = ['../_base_/cifar_pairs/resnet56_resnet20.py']

model = dict(
    # the student's cross-entropy weight (RepDistiller's -r 0.1)
    student_loss_schedule=dict(type='constant', value=0.1),
    distill=dict(
        logits=dict(student='head.fc', teacher='head.fc',
                    loss=dict(type='KDLoss', tau=4.0, loss_weight=0.9))))
