# CIFAR-100 pair: vgg13 teacher -> vgg8 student (RepDistiller's networks,
# configs/baselines/vgg13_cifar100.py and vgg8_cifar100.py),
# the distiller with no entry yet;
# each method's recipe (configs/<method>/<method>_vgg13_vgg8_cifar100.py)
# inherits this and adds its `distill` entries. Train the teacher first:
#   python tools/train.py configs/baselines/vgg13_cifar100.py
_base_ = ['../../baselines/vgg8_cifar100.py']

teacher_ckpt = 'work_dirs/vgg13_cifar100/epoch_240.pth'

model = dict(
    _delete_=True,
    type='kd.SingleTeacherDistiller',
    student=_base_.model,
    teacher=dict(config='kd::baselines/vgg13_cifar100.py', checkpoint=teacher_ckpt),
    probe_shape=(3, 32, 32),
    distill=dict())
