# Teacher: RetinaNet, ResNet-18 at half width (32 base channels), FPN 64,
# two head convs, trained twice as long as the student (3000 iterations).
#
# Stability (docs/results_quickstart.md, "Teacher runs"): the earlier recipe
# (lr 2e-3 after a 100-iteration warm-up, no augmentation) landed anywhere
# from 41.5 to 57.2 mAP for one seed, depending on the thread count. Its loss
# rose from 1.30 to 1.58 and its grad norm from 2.8 to 10 in the 60 iterations
# after the warm-up (lr too high for this width), and it then overfitted the
# 3000 canvases. Three changes address the causes: half the peak lr with a
# 300-iteration warm-up, online augmentation (digits_det_aug.py), and the
# weights evaluated and saved as an exponential moving average.
_base_ = [
    '../_base_/models/retinanet_r18_digits.py',
    '../_base_/datasets/digits_det_aug.py',
    '../_base_/schedules/det_adamw_iters.py',
    '../_base_/default_runtime_det.py',
]
width = 32
fpn_channels = 64
model = dict(
    backbone=dict(base_channels=width),
    neck=dict(in_channels=[width * 2, width * 4, width * 8], out_channels=fpn_channels),
    bbox_head=dict(in_channels=fpn_channels, feat_channels=fpn_channels, stacked_convs=2))

max_iters = 3000
warmup_iters = 300
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
optim_wrapper = dict(optimizer=dict(lr=0.001))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=warmup_iters),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=warmup_iters, end=max_iters,
         T_max=max_iters - warmup_iters, eta_min_ratio=0.05),
]
# Weight EMA (mmdet's ExpMomentumEMA): the average follows the weights closely
# early on and covers the last ~300 iterations at the end (momentum 0.0005 +
# exp(-t/500)). Validation uses the averaged weights, and the checkpoint's
# `state_dict` holds them (the raw weights go to `ema_state_dict`), so a
# distiller loading this teacher gets the averaged model.
custom_hooks = [
    dict(type='EMAHook', ema_type='ExpMomentumEMA', momentum=0.0005, gamma=500,
         update_buffers=True, priority=49),
]
