# DKD (decoupled KD, Zhao et al. CVPR 2022): alpha 1, beta 8, tau 4, one warm-up epoch.
_base_ = ['../kd/kd_resnet_digits_cls.py']
model = dict(distill=dict(logits=dict(loss=dict(
    _delete_=True, type='DKDLoss', alpha=1.0, beta=8.0, tau=4.0, warmup_iters=94))))
