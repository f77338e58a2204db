# KD (Hinton et al. 2015) as RepDistiller runs it (-r 0.1 -a 0.9): 0.1 * CE +
# 0.9 * tau^2 KL(teacher || student) at tau 4 on the logits.
# ShuffleNetV2 student <- ResNet-32x4 teacher on CIFAR-100. Published top-1: README.md here.
# Train the teacher first: python tools/train.py configs/cifar100/resnet32x4_cifar100.py
_base_ = ['./shufflev2_cifar100.py']

teacher_ckpt = 'work_dirs/resnet32x4_cifar100/epoch_240.pth'

model = dict(
    _delete_=True,
    type='kd.SingleTeacherDistiller',
    student=_base_.model,
    teacher=dict(config='kd::cifar100/resnet32x4_cifar100.py', checkpoint=teacher_ckpt),
    # the student's cross-entropy weight (RepDistiller's -r 0.1)
    student_loss_schedule=dict(type='constant', value=0.1),
    probe_shape=(3, 32, 32),
    distill=dict(
        logits=dict(student='head.fc', teacher='head.fc',
                    loss=dict(type='KDLoss', tau=4.0, loss_weight=0.9))))

custom_hooks = [dict(type='kd.StudentCheckpointHook'),
                dict(type='kd.WeightsConsistencyHook')]

# evaluate the teacher once beside the student (logged as teacher/<metric>)
val_cfg = dict(type='kd.DistillValLoop')
