# Soft-target cross-entropy, tau 4: the same gradients as KD (KL) plus the teacher's entropy.
_base_ = ['../kd/kd_resnet_digits_cls.py']
model = dict(distill=dict(logits=dict(loss=dict(
    _delete_=True, type='SoftCrossEntropyLoss', tau=4.0, loss_weight=1.0))))
