# Workflow: stop distillation. KD (tau 4) for the first 14 of 20 epochs; kd.StopDistillHook then
# switches the distill loss and the teacher forward off (the student fine-tunes on labels alone).
_base_ = ['./kd_resnet_digits_cls.py']
custom_hooks = [dict(type='kd.StopDistillHook', stop_epoch=14)]
