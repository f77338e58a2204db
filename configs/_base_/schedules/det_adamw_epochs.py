# Epoch-based AdamW schedule for the RTMDet/YOLOX recipes on the embedded data (their
# training hooks switch by epoch). 3000 DigitsDet canvases at batch 16 are 188
# iterations an epoch: 10 epochs are 1880 iterations. Linear warm-up over the first
# 300 iterations, then a cosine by iteration to 5% of the peak lr; gradient clipping
# and AdamW as det_adamw_iters.py; no weight decay on norms and biases (RTMDet's).
max_epochs = 10
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs)
# kd.DistillValLoop: MMEngine's ValLoop; for a distiller it also evaluates the teacher,
# once (logged as teacher/<metric>; `val_cfg = dict(evaluate_teacher=False)` skips it)
val_cfg = dict(type='kd.DistillValLoop')
test_cfg = dict(type='TestLoop')

param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=300),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=max_epochs,
         T_max=max_epochs, eta_min_ratio=0.05, convert_to_iter_based=True),
]
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=0.002, weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0, bias_decay_mult=0, bypass_duplicate=True),
    clip_grad=dict(max_norm=35, norm_type=2))
auto_scale_lr = dict(enable=False, base_batch_size=16)
