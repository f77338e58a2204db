# DIST (Huang et al. NeurIPS 2022), CIFAR settings: beta 2, gamma 2, tau 4.
_base_ = ['../kd/kd_resnet_digits_cls.py']
model = dict(distill=dict(logits=dict(loss=dict(
    _delete_=True, type='DISTLoss', beta=2.0, gamma=2.0, tau=4.0))))
