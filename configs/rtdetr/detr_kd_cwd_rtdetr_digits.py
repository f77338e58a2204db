# Logit + CWD (the seed's "logloss-cwd"): DETRDistillLoss on the decoder outputs
# (constant weight 1, detr_kd_rtdetr_digits.py) and CWD on the hybrid encoder's outputs
# (cwd_rtdetr_digits.py) with a cosine schedule: its weight falls from 1 to 0.1 over the
# 1500 iterations. Logged as distill.detr and distill.neck, each after its factor
# (factor.neck is the CWD weight of the step).
_base_ = ['./cwd_rtdetr_digits.py']
model = dict(distill=dict(
    detr=_base_.detr_entry,
    neck=dict(schedule=dict(type='cosine', start=1.0, end=0.1))))
