# KD (tau 4) with the DigitsCls SGD settings (lr 0.1, momentum 0.9, weight decay 5e-4) but
# heavy-ball instead of Nesterov momentum: the control for dot_resnet_digits_cls.py, which
# changes only the update rule (DOT splits heavy-ball momentum; it refuses Nesterov).
_base_ = ['../kd/kd_resnet_digits_cls.py']
optim_wrapper = dict(
    _delete_=True, type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4))
