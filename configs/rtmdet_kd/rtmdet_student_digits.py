# Student: RTMDet-tiny style (mmdet's RTMDet; CSPNeXt deepen 0.167, widen 0.25, PAFPN
# 64, head 64) on DigitsDet, from scratch, 10 epochs (1880 iterations), batch 16.
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
max_epochs = 10
stage2_num_epochs = 1
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(checkpoint=dict(by_epoch=True, interval=max_epochs))

# momentum: RTMDet's 2e-4 is for 300 epochs of 3600 iterations; the average here
# covers the last ~200 of 1880 iterations (2e-4 + exp(-t/500) early on: gamma as the
# quickstart teacher)
ema_hook = dict(type='kd.StudentHook', priority=49,
                hook=dict(type='EMAHook', ema_type='ExpMomentumEMA', momentum=0.005,
                          gamma=500, update_buffers=True))
pipeline_switch_hook = dict(
    type='kd.StudentHook',
    hook=dict(type='PipelineSwitchHook', switch_epoch=max_epochs - stage2_num_epochs,
              switch_pipeline=_base_.train_pipeline_stage2))
custom_hooks = [ema_hook, pipeline_switch_hook]
