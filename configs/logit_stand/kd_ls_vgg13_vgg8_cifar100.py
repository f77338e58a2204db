# KD + logit standardization (Sun et al. CVPR 2024) as its official code runs it (--logit-stand
# --base-temp 3 --kd-weight 9): CE x 0.1 + 9 x 3^2 KL on Z-scored logits at base temperature 3.
# Inherits the KD recipe of the pair (teacher, CE weight 0.1). Published top-1: docs/cifar100.md.
_base_ = ['../kd/kd_vgg13_vgg8_cifar100.py']
model = dict(distill=dict(logits=dict(loss=dict(
    _delete_=True, type='KDLoss', tau=4.0, logit_stand=True, base_temp=3.0, loss_weight=9.0))))
