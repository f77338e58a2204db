# Teacher: RTMDet-s style (CSPNeXt deepen 0.33, widen 0.5, PAFPN 128, head 128: mmdet's
# RTMDet-s widths) on DigitsDet, from scratch, 20 epochs (as the student), peak
# lr 1e-3 (the quickstart teacher's: 2e-3 was unstable for the wider net there).
_base_ = ['./rtmdet_student_digits.py']
model = dict(
    backbone=dict(deepen_factor=0.33, widen_factor=0.5),
    neck=dict(in_channels=[128, 256, 512], out_channels=128),
    bbox_head=dict(in_channels=128, feat_channels=128))

max_epochs = 20
stage2_num_epochs = 2
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(checkpoint=dict(by_epoch=True, interval=max_epochs))
optim_wrapper = dict(optimizer=dict(lr=0.001))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=300),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=max_epochs,
         T_max=max_epochs, eta_min_ratio=0.05, convert_to_iter_based=True),
]
# the average covers the last ~400 of 3760 iterations
ema_hook = dict(type='kd.StudentHook', priority=49,
                hook=dict(type='EMAHook', ema_type='ExpMomentumEMA', momentum=0.0025,
                          gamma=500, update_buffers=True))
pipeline_switch_hook = dict(
    type='kd.StudentHook',
    hook=dict(type='PipelineSwitchHook', switch_epoch=max_epochs - stage2_num_epochs,
              switch_pipeline=_base_.train_pipeline_stage2))
custom_hooks = [ema_hook, pipeline_switch_hook]
