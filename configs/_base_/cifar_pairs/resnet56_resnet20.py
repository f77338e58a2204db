# CIFAR-100 pair: resnet56 teacher -> resnet20 student (RepDistiller's networks,
# configs/baselines/resnet56_cifar100.py and resnet20_cifar100.py),
# the distiller with no entry yet;
# each method's recipe (configs/<method>/<method>_resnet56_resnet20_cifar100.py)
# inherits this and adds its `distill` entries. Train the teacher first:
#   python tools/train.py configs/baselines/resnet56_cifar100.py
_base_ = ['../../baselines/resnet20_cifar100.py']

teacher_ckpt = 'work_dirs/resnet56_cifar100/epoch_240.pth'

model = dict(
    _delete_=True,
    type='kd.SingleTeacherDistiller',
    student=_base_.model,
    teacher=dict(config='kd::baselines/resnet56_cifar100.py', checkpoint=teacher_ckpt),
    probe_shape=(3, 32, 32),
    distill=dict())
