# KD + logit standardization (Sun et al. CVPR 2024): Z-scored logits, base temperature 2, weight 9
# (the official CIFAR-100 setting), cross-entropy weight 1 as in the quickstart KD recipe.
_base_ = ['../kd/kd_resnet_digits_cls.py']
model = dict(distill=dict(logits=dict(loss=dict(
    _delete_=True, type='KDLoss', tau=4.0, logit_stand=True, base_temp=2.0, loss_weight=9.0))))
