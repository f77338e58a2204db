# CIFAR-100 pair: resnet32x4 teacher -> shufflev2 student (RepDistiller's networks,
# configs/baselines/resnet32x4_cifar100.py and shufflev2_cifar100.py),
# the distiller with no entry yet;
# each method's recipe (configs/<method>/<method>_resnet32x4_shufflev2_cifar100.py)
# inherits this and adds its `distill` entries. Train the teacher first:
#   python tools/train.py configs/baselines/resnet32x4_cifar100.py
_base_ = ['../../baselines/shufflev2_cifar100.py']

teacher_ckpt = 'work_dirs/resnet32x4_cifar100/epoch_240.pth'

model = dict(
    _delete_=True,
    type='kd.SingleTeacherDistiller',
    student=_base_.model,
    teacher=dict(config='kd::baselines/resnet32x4_cifar100.py', checkpoint=teacher_ckpt),
    probe_shape=(3, 32, 32),
    distill=dict())
