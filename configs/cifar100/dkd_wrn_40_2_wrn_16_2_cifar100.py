# DKD (Zhao et al. CVPR 2022), mdistiller's setting for this pair: CE 1, alpha 1,
# beta 6, tau 4, the loss ramped in linearly over 20 epochs (20 x 782
# iterations at batch 64).
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
        logits=dict(student='head.fc', teacher='head.fc',
                    loss=dict(type='DKDLoss', alpha=1.0, beta=6.0, tau=4.0,
                              warmup_iters=15640))))

custom_hooks = [dict(type='kd.StudentCheckpointHook'),
                dict(type='kd.WeightsConsistencyHook')]

# evaluate the teacher once beside the student (logged as teacher/<metric>)
val_cfg = dict(type='kd.DistillValLoop')
