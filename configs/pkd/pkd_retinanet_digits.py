# PKD (Pearson-correlation feature KD, Cao et al. NeurIPS 2022) on the 3 FPN levels, weight 0.5.
# Weight set so the distill loss starts near the task loss (about 1.5-2.5 on this pair).
_base_ = ['../cwd/cwd_retinanet_digits.py']
model = dict(distill=dict(fpn=dict(
    connector=dict(type='ConvConnector'),
    loss=dict(_delete_=True, type='PKDLoss', loss_weight=0.5))))
