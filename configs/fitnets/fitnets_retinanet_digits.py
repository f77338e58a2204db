# FitNets / Mimic (Romero et al. ICLR 2015): MSE between connector(student) and teacher FPN levels.
_base_ = ['../quickstart/cwd_retinanet_digits.py']
model = dict(distill=dict(fpn=dict(
    connector=dict(type='ConvConnector'),
    loss=dict(_delete_=True, type='FeatureMSELoss', loss_weight=1.0))))
