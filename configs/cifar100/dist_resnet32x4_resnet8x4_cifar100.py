# DIST (Huang et al. NeurIPS 2022), the paper's CIFAR-100 setting: beta 2, gamma 2,
# tau 4, with the student's cross-entropy (weight 1).
# ResNet-8x4 student <- ResNet-32x4 teacher on CIFAR-100. Published top-1: README.md here.
# Train the teacher first: python tools/train.py configs/cifar100/resnet32x4_cifar100.py
_base_ = ['./resnet8x4_cifar100.py']

teacher_ckpt = 'work_dirs/resnet32x4_cifar100/epoch_240.pth'

model = dict(
    _delete_=True,
    type='kd.SingleTeacherDistiller',
    student=_base_.model,
    teacher=dict(config='kd::cifar100/resnet32x4_cifar100.py', checkpoint=teacher_ckpt),
    probe_shape=(3, 32, 32),
    distill=dict(
        logits=dict(student='head.fc', teacher='head.fc',
                    loss=dict(type='DISTLoss', beta=2.0, gamma=2.0, tau=4.0))))

custom_hooks = [dict(type='kd.StudentCheckpointHook'),
                dict(type='kd.WeightsConsistencyHook')]

# evaluate the teacher once beside the student (logged as teacher/<metric>)
val_cfg = dict(type='kd.DistillValLoop')
