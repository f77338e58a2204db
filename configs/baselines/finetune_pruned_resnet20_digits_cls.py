# Baseline of the pruned workflow: the same pruned ResNet-20 fine-tuned on labels alone (the KD
# entry's weight is held at 0, so the teacher never runs).
_base_ = ['../kd/kd_pruned_resnet20_digits_cls.py']
model = dict(distill=dict(logits=dict(schedule=dict(type='constant', value=0.0))))
