# MGD (masked generative distillation, Yang et al. ECCV 2022) on the 3 FPN levels:
# alpha 2e-5, lambda 0.65 (the paper's RetinaNet settings); channels are filled in.
_base_ = ['../cwd/cwd_retinanet_digits.py']
model = dict(distill=dict(fpn=dict(
    _delete_=True, student='neck', teacher='neck',
    loss=dict(type='MGDLoss', alpha_mgd=2e-5, lambda_mgd=0.65))))
