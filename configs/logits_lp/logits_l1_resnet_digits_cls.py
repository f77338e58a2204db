# Logit L1 matching (mean absolute difference of student and teacher logits), weight 1.
_base_ = ['../kd/kd_resnet_digits_cls.py']
model = dict(distill=dict(logits=dict(loss=dict(
    _delete_=True, type='LogitsL1Loss', loss_weight=1.0))))
