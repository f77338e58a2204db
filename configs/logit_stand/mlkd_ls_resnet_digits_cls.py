# MLKD + logit standardization (Sun et al. CVPR 2024): temperatures (2, 3, 5, 2, 6) on Z-scored
# logits for the instance terms, weight 9 (the official CIFAR-100 setting); one view per step.
_base_ = ['../mlkd/mlkd_resnet_digits_cls.py']
model = dict(distill=dict(logits=dict(loss=dict(
    _delete_=True, type='MLKDLoss', logit_stand=True, base_temp=2.0, loss_weight=9.0))))
