# AT (Zagoruyko & Komodakis ICLR 2017) as RepDistiller runs it (-b 1000): attention
# maps (p 2) of the three stages, weight 1000 each, plus cross-entropy (weight 1).
# The WideResNet backbone ends with BN-ReLU, so the third map is taken from
# backbone.layer3 (before it), as RepDistiller does.
# WRN-16-2 student <- WRN-40-2 teacher on CIFAR-100. Published top-1: README.md here.
# Train the teacher first: python tools/train.py configs/cifar100/wrn_40_2_cifar100.py
_base_ = ['./wrn_16_2_cifar100.py']

teacher_ckpt = 'work_dirs/wrn_40_2_cifar100/epoch_240.pth'

model = dict(
    _delete_=True,
    type='kd.SingleTeacherDistiller',
    student=_base_.model,
    teacher=dict(config='kd::cifar100/wrn_40_2_cifar100.py', checkpoint=teacher_ckpt),
    probe_shape=(3, 32, 32),
    distill=dict(
        stages=dict(student='backbone', teacher='backbone', levels=[0, 1],
                    loss=dict(type='ATLoss', p=2, loss_weight=1000.0)),
        stage3=dict(student='backbone.layer3', teacher='backbone.layer3',
                    loss=dict(type='ATLoss', p=2, loss_weight=1000.0))))

custom_hooks = [dict(type='kd.StudentCheckpointHook'),
                dict(type='kd.WeightsConsistencyHook')]

# evaluate the teacher once beside the student (logged as teacher/<metric>)
val_cfg = dict(type='kd.DistillValLoop')
