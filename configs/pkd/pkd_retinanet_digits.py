# PKD (Pearson-correlation feature KD, Cao et al. NeurIPS 2022) on the 3 FPN levels, weight 1.
_base_ = ['../quickstart/cwd_retinanet_digits.py']
model = dict(distill=dict(fpn=dict(
    connector=dict(type='ConvConnector'),
    loss=dict(_delete_=True, type='PKDLoss', loss_weight=1.0))))
