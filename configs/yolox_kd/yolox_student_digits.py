# Student: YOLOX-tiny style (mmdet's YOLOX; CSPDarknet deepen 0.33, widen 0.25, PAFPN 64,
# head 64) on DigitsDet, from scratch, 10 epochs (1880 iterations), batch 16.
# YOLOX's training hooks, each run on the model through kd.StudentHook (a no-op
# wrapper for a plain detector, so the same list serves the distillation recipe):
# YOLOXModeSwitchHook (the last epoch without Mosaic/RandomAffine and with the head's
# extra L1 box loss; YOLOX: the last 15 of 300 epochs), SyncNormHook (BN statistics
# averaged over ranks before validation) and weight EMA (ExpMomentumEMA).
_base_ = [
    '../_base_/models/yolox_digits.py',
    '../_base_/datasets/digits_det_yolox.py',
    '../_base_/schedules/det_adamw_epochs.py',
    '../_base_/default_runtime_det.py',
]
max_epochs = 10
num_last_epochs = 1
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(checkpoint=dict(by_epoch=True, interval=max_epochs))
# a constant lr for the last epoch, as YOLOX
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=300),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=max_epochs - num_last_epochs,
         T_max=max_epochs - num_last_epochs, eta_min_ratio=0.05, convert_to_iter_based=True),
]

mode_switch_hook = dict(type='kd.StudentHook', priority=48,
                        hook=dict(type='YOLOXModeSwitchHook', num_last_epochs=num_last_epochs))
sync_norm_hook = dict(type='kd.StudentHook', priority=48, hook=dict(type='SyncNormHook'))
# momentum: YOLOX's 1e-4 is for 300 epochs; the average here covers the last ~200 of
# 1880 iterations (gamma as the quickstart teacher)
ema_hook = dict(type='kd.StudentHook', priority=49,
                hook=dict(type='EMAHook', ema_type='ExpMomentumEMA', momentum=0.005,
                          gamma=500, update_buffers=True))
custom_hooks = [mode_switch_hook, sync_norm_hook, ema_hook]
