# RKD (Park et al. CVPR 2019) as RepDistiller runs it (-b 1): distance (25) and
# angle (50) terms on the pooled embedding (the classifier's input), plus CE.
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
        embedding=dict(student=dict(source='head.fc', type='module_inputs', index=0),
                       teacher=dict(source='head.fc', type='module_inputs', index=0),
                       loss=dict(type='RKDLoss', w_dist=25.0, w_angle=50.0))))

custom_hooks = [dict(type='kd.StudentCheckpointHook'),
                dict(type='kd.WeightsConsistencyHook')]

# evaluate the teacher once beside the student (logged as teacher/<metric>)
val_cfg = dict(type='kd.DistillValLoop')
