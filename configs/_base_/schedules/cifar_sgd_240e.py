# The CIFAR-100 distillation schedule of RepDistiller / mdistiller: 240 epochs of SGD
# (momentum 0.9, weight decay 5e-4, batch 64), lr 0.05 divided by 10 at epochs 150, 180
# and 210. MobileNetV2 / ShuffleNet students use lr 0.01 (set in their configs).
max_epochs = 240
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
# kd.DistillValLoop: MMEngine's ValLoop; for a distiller it also evaluates the teacher,
# once (logged as teacher/<metric>; `val_cfg = dict(evaluate_teacher=False)` skips it)
val_cfg = dict(type='kd.DistillValLoop')
test_cfg = dict()

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=5e-4))
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=True, milestones=[150, 180, 210], gamma=0.1),
]
auto_scale_lr = dict(enable=False, base_batch_size=64)
