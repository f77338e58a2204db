# CIFAR-100 pair: wrn_40_2 teacher -> wrn_16_2 student (RepDistiller's networks,
# configs/baselines/wrn_40_2_cifar100.py and wrn_16_2_cifar100.py),
# the distiller with no entry yet;
# each method's recipe (configs/<method>/<method>_wrn_40_2_wrn_16_2_cifar100.py)
# inherits this and adds its `distill` entries. Train the teacher first:
#   python tools/train.py configs/baselines/wrn_40_2_cifar100.py
_base_ = ['../../baselines/wrn_16_2_cifar100.py']

teacher_ckpt = 'work_dirs/wrn_40_2_cifar100/epoch_240.pth'

model = dict(
    _delete_=True,
    type='kd.SingleTeacherDistiller',
    student=_base_.model,
    teacher=dict(config='kd::baselines/wrn_40_2_cifar100.py', checkpoint=teacher_ckpt),
    probe_shape=(3, 32, 32),
    distill=dict())
