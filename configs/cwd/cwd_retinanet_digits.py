# CWD (channel-wise distillation, Shu et al. ICCV 2021) on the three FPN levels:
# RetinaNet R18/8 student <- RetinaNet R18/2 teacher on DigitsDet.
# Train the teacher first: tools/train.py configs/baselines/retinanet_teacher_digits.py
_base_ = ['../baselines/retinanet_student_digits.py']

teacher_ckpt = 'work_dirs/retinanet_teacher_digits/iter_3000.pth'

model = dict(
    _delete_=True,
    type='kd.SingleTeacherDistiller',
    student=_base_.model,
    teacher=dict(config='kd::baselines/retinanet_teacher_digits.py', checkpoint=teacher_ckpt),
    probe_shape=(3, 96, 96),
    distill=dict(
        fpn=dict(
            student='neck', teacher='neck',
            connector=dict(type='ConvConnector'),   # 16 -> 64 channels, per level
            loss=dict(type='ChannelWiseDivergence', tau=1.0, loss_weight=1.0))))
