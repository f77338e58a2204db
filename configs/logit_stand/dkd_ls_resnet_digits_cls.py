# DKD + logit standardization (Sun et al. CVPR 2024): Z-scored logits at DKD's temperature 4,
# alpha 9, beta 81 as the official tools/train.py sets them (--kd-weight 9), one warm-up epoch.
_base_ = ['../dkd/dkd_resnet_digits_cls.py']
model = dict(distill=dict(logits=dict(loss=dict(
    _delete_=True, type='DKDLoss', alpha=9.0, beta=81.0, tau=4.0, logit_stand=True,
    warmup_iters=94))))
