# FGD (focal and global distillation, Yang et al. CVPR 2022) on the 3 FPN levels:
# RetinaNet R18/8 student <- RetinaNet R18/2 teacher on DigitsDet.
# The paper's RetinaNet weights (alpha 1e-3, beta 5e-4, gamma 5e-4, lambda 5e-6, T 0.5) scaled
# by 0.25, so the distill loss starts near the task loss (about 1.6 vs 1.8 on this pair); the
# loss's own 1x1 align conv maps the student's 16 FPN channels to the teacher's 64.
_base_ = ['../cwd/cwd_retinanet_digits.py']
model = dict(distill=dict(fpn=dict(
    _delete_=True, student='neck', teacher='neck',
    loss=dict(type='FGDLoss', temp=0.5, alpha_fgd=1e-3, beta_fgd=5e-4, gamma_fgd=5e-4,
              lambda_fgd=5e-6, loss_weight=0.25))))
