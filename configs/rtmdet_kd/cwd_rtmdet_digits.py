# MMRazor/MMYOLO's RTMDet distillation on DigitsDet: CWD on the three neck outputs
# (the convolutions of neck.out_convs, before their BN and activation), the student's
# side through a 1x1 conv without bias + BN without affine or running statistics, the
# teacher's through the same BN statistics (kd.NormConnector mode='batch'), tau 1,
# weight 1 per level; distillation stopped for the last epoch (MMYOLO: the last 20 of
# 300). RTMDet-tiny style student <- RTMDet-s style teacher; EMA and the pipeline
# switch act on the student (kd.StudentHook, inherited from the student config).
# Train the teacher first: tools/train.py configs/rtmdet_kd/rtmdet_teacher_digits.py
_base_ = ['./rtmdet_student_digits.py', '../_base_/distill/rtmdet_neck_cwd.py']

teacher_ckpt = 'work_dirs/rtmdet_teacher_digits/epoch_20.pth'

model = dict(
    _delete_=True,
    type='kd.SingleTeacherDistiller',
    student=_base_.model,
    teacher=dict(config='kd::rtmdet_kd/rtmdet_teacher_digits.py', checkpoint=teacher_ckpt),
    probe_shape=(3, 96, 96),
    distill=_base_.rtmdet_neck_cwd)   # ../_base_/distill/rtmdet_neck_cwd.py

custom_hooks = [
    _base_.ema_hook,
    _base_.pipeline_switch_hook,
    dict(type='kd.StopDistillHook', stop_epoch=_base_.max_epochs - _base_.stage2_num_epochs),
]
