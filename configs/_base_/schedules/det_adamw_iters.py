# Short iteration-based schedule for the embedded detection data.
# AdamW, not SGD: the detectors train from scratch (no model-zoo weights here) and
# in 600 iterations the student reached 0.225 mAP with AdamW (lr 2e-3, wd 0.05)
# against 0.020 with SGD (lr 0.02, momentum 0.9) on DigitsDet.
max_iters = 1500
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
# kd.DistillValLoop: MMEngine's ValLoop; for a distiller it also evaluates the teacher,
# once (logged as teacher/<metric>; `val_cfg = dict(evaluate_teacher=False)` skips it)
val_cfg = dict(type='kd.DistillValLoop')
test_cfg = dict(type='TestLoop')

param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=100, end=max_iters,
         T_max=max_iters - 100, eta_min_ratio=0.05),
]
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=0.002, weight_decay=0.05),
    clip_grad=dict(max_norm=35, norm_type=2))
auto_scale_lr = dict(enable=False, base_batch_size=16)
