# KD (tau 4, weight 1) with its weight ramped in linearly over the first 5 of 40 epochs.
# Every DigitsCls model first sits at chance for a few epochs (docs/results_quickstart.md);
# the ramp keeps the distillation term from dominating the cross-entropy then. The ramp is
# kd's entry schedule (kd/engine/schedules.py): a constant weight 1 with warmup=470
# iterations (5 epochs of 94), the factor rising from 0 to 1.
_base_ = ['./kd_resnet_digits_cls.py']
model = dict(distill=dict(logits=dict(schedule=dict(type='constant', value=1.0, warmup=470))))
