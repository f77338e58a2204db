# KD (tau 4) with SGD (lr 0.05, momentum 0.9, weight decay 5e-4) instead of AdamW: the control
# for dot_resnet_digits_cls.py, which changes only the update rule.
_base_ = ['../kd/kd_resnet_digits_cls.py']
optim_wrapper = dict(
    _delete_=True, type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=5e-4))
