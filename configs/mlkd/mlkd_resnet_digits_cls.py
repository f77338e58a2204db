# MLKD (multi-level logit distillation, Jin et al. CVPR 2023): instance, batch and class alignment
# at temperatures (4, 3, 5, 2, 6), weight 1; one view per step (no strong-augmentation branch).
_base_ = ['../kd/kd_resnet_digits_cls.py']
model = dict(distill=dict(logits=dict(loss=dict(
    _delete_=True, type='MLKDLoss', temperatures=(4.0, 3.0, 5.0, 2.0, 6.0), loss_weight=1.0))))
