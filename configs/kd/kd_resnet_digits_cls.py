# KD (Hinton et al. 2015) on logits, tau 4: CIFAR ResNet-8 student <- ResNet-20 teacher.
# Train the teacher first: tools/train.py configs/baselines/resnet_teacher_digits_cls.py
_base_ = ['../baselines/resnet_student_digits_cls.py']

teacher_ckpt = 'work_dirs/resnet_teacher_digits_cls/epoch_40.pth'

model = dict(
    _delete_=True,
    type='kd.SingleTeacherDistiller',
    student=_base_.model,
    teacher=dict(config='kd::baselines/resnet_teacher_digits_cls.py', checkpoint=teacher_ckpt),
    probe_shape=(3, 32, 32),
    distill=dict(
        logits=dict(student='head.fc', teacher='head.fc',
                    loss=dict(type='KDLoss', tau=4.0, loss_weight=1.0))))
