# Student: RTMDet-tiny style (mmdet's RTMDet; CSPNeXt widen 0.25, PAFPN 64, head 64) at
# RTMDet-s's depth (deepen 0.33: 1/3/3/1 blocks, as the YOLOX student; 2.23 M params) on
# DigitsDet, from scratch, 20 epochs (3760 iterations, the teacher's), batch 16.
# Measured at seed 0 (README "The student"): 20.8 mAP50-95 at RTMDet-tiny's deepen 0.167
# and 10 epochs (the classification branch underfit: boxes right, classes flat), 31.1 at
# deepen 0.33 and 10 epochs, 60.8 at deepen 0.33 and 20 epochs (this config).
# RTMDet's training hooks, each run on the model through kd.StudentHook (a no-op
# wrapper for a plain detector, so the same list serves the distillation recipe):
# weight EMA (ExpMomentumEMA; validation and checkpoints use the averaged weights)
# and PipelineSwitchHook to the mosaic-free stage-2 pipeline for the last epoch
# (RTMDet: the last 20 of 300 epochs).
_base_ = [
    '../_base_/models/rtmdet_digits.py',
    '../_base_/datasets/digits_det_rtmdet.py',
    '../_base_/schedules/det_adamw_epochs.py',
    '../_base_/default_runtime_det.py',
]
max_epochs = 20
stage2_num_epochs = 1
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(checkpoint=dict(by_epoch=True, interval=max_epochs))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=300),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=max_epochs,
         T_max=max_epochs, eta_min_ratio=0.05, convert_to_iter_based=True),
]
model = dict(backbone=dict(deepen_factor=0.33))

# momentum: RTMDet's 2e-4 is for 300 epochs of 3600 iterations; the average here
# covers the last ~200 of 3760 iterations (2e-4 + exp(-t/500) early on: gamma as the
# quickstart teacher)
ema_hook = dict(type='kd.StudentHook', priority=49,
                hook=dict(type='EMAHook', ema_type='ExpMomentumEMA', momentum=0.005,
                          gamma=500, update_buffers=True))
pipeline_switch_hook = dict(
    type='kd.StudentHook',
    hook=dict(type='PipelineSwitchHook', switch_epoch=max_epochs - stage2_num_epochs,
              switch_pipeline=_base_.train_pipeline_stage2))
custom_hooks = [ema_hook, pipeline_switch_hook]
