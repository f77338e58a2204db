# WSLD (weighted soft labels, Zhou et al. ICLR 2021), CIFAR settings: tau 4, weight 2.25.
_base_ = ['../kd/kd_resnet_digits_cls.py']
model = dict(distill=dict(logits=dict(loss=dict(
    _delete_=True, type='WSLDLoss', tau=4.0, loss_weight=2.25))))
