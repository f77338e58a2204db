# SP (Tung & Mori ICCV 2019) as RepDistiller runs it (-b 3000): batch similarity of
# the last stage (before any final BN-ReLU), weight 3000, plus cross-entropy.
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
        stage3=dict(student='backbone.layer3', teacher='backbone.layer3',
                    loss=dict(type='SPKDLoss', loss_weight=3000.0))))

custom_hooks = [dict(type='kd.StudentCheckpointHook'),
                dict(type='kd.WeightsConsistencyHook')]

# evaluate the teacher once beside the student (logged as teacher/<metric>)
val_cfg = dict(type='kd.DistillValLoop')
