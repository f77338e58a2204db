# FitNets / Mimic (Romero et al. ICLR 2015): MSE between connector(student) and teacher
# FPN levels, weight 0.2.
# Weight set so the distill loss starts near the task loss (about 1.5-2.5 on this pair).
_base_ = ['../cwd/cwd_retinanet_digits.py']
model = dict(distill=dict(fpn=dict(
    connector=dict(type='ConvConnector'),
    loss=dict(_delete_=True, type='FeatureMSELoss', loss_weight=0.2))))
