# Workflow: two teachers. KD (tau 4) towards the weighted mean of two teachers' logits: the
# ResNet-20 teacher (weight 0.7) and a trained ResNet-8 (weight 0.3; the student architecture,
# seed 0: tools/train.py configs/baselines/resnet_student_digits_cls.py, which writes
# work_dirs/resnet_student_digits_cls/epoch_20.pth).
_base_ = ['../baselines/resnet_student_digits_cls.py']
model = dict(
    _delete_=True,
    type='kd.MultiTeacherDistiller',
    student=_base_.model,
    teachers=dict(
        t0=dict(config='kd::baselines/resnet_teacher_digits_cls.py',
                checkpoint='work_dirs/resnet_teacher_digits_cls/epoch_40.pth'),
        t1=dict(config='kd::baselines/resnet_student_digits_cls.py',
                checkpoint='work_dirs/resnet_student_digits_cls/epoch_20.pth')),
    probe_shape=(3, 32, 32),
    distill=dict(logits=dict(
        student='head.fc', teacher=dict(teachers=dict(t0=0.7, t1=0.3), source='head.fc'),
        loss=dict(type='KDLoss', tau=4.0, loss_weight=1.0))))
