# MLKD + logit standardization (Sun et al. CVPR 2024), official flags --logit-stand --base-temp 2
# --kd-weight 9: temperatures (2, 3, 5, 2, 6), weight 9, CE x 0.1; one view per step (see the MLKD
# recipe). Published top-1: docs/cifar100.md.
_base_ = ['../mlkd/mlkd_resnet32x4_resnet8x4_cifar100.py']
model = dict(distill=dict(logits=dict(loss=dict(
    _delete_=True, type='MLKDLoss', logit_stand=True, base_temp=2.0, loss_weight=9.0))))
