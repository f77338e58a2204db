# FitNets (Romero et al. ICLR 2015) as RepDistiller runs it (hint layer 2, -b 100):
# MSE between the teacher's second stage and the student's through a 3x3
# conv-BN-ReLU regressor, weight 100, plus the student's cross-entropy (weight 1).
# ResNet-8x4 student <- ResNet-32x4 teacher on CIFAR-100. Published top-1: README.md here.
# Train the teacher first: python tools/train.py configs/cifar100/resnet32x4_cifar100.py
_base_ = ['./resnet8x4_cifar100.py']

teacher_ckpt = 'work_dirs/resnet32x4_cifar100/epoch_240.pth'

model = dict(
    _delete_=True,
    type='kd.SingleTeacherDistiller',
    student=_base_.model,
    teacher=dict(config='kd::cifar100/resnet32x4_cifar100.py', checkpoint=teacher_ckpt),
    probe_shape=(3, 32, 32),
    distill=dict(
        hint=dict(student=dict(source='backbone', index=1),
                  teacher=dict(source='backbone', index=1),
                  connector=dict(type='ConvConnector', kernel_size=3, norm='bn',
                                 act='relu'),
                  loss=dict(type='FeatureMSELoss', loss_weight=100.0))))

custom_hooks = [dict(type='kd.StudentCheckpointHook'),
                dict(type='kd.WeightsConsistencyHook')]

# evaluate the teacher once beside the student (logged as teacher/<metric>)
val_cfg = dict(type='kd.DistillValLoop')
