# Soft-label KD on RetinaNet's classification outputs (all FPN levels at once):
# the teacher's sigmoid scores become QFL-weighted soft targets for the student.
# RetinaNet R18/8 student <- RetinaNet R18/2 teacher on DigitsDet; both heads
# share strides, anchors and classes, so no connector is needed.
_base_ = ['../baselines/retinanet_student_digits.py', '../_base_/distill/dense_head_kd_cls.py']

teacher_ckpt = 'work_dirs/retinanet_teacher_digits/iter_3000.pth'

model = dict(
    _delete_=True,
    type='kd.SingleTeacherDistiller',
    student=_base_.model,
    teacher=dict(config='kd::baselines/retinanet_teacher_digits.py', checkpoint=teacher_ckpt),
    probe_shape=(3, 96, 96),
    distill=dict(cls=_base_.dense_head_kd_cls))   # ../_base_/distill/dense_head_kd_cls.py
