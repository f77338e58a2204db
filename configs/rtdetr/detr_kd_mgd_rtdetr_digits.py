# Logit + MGD (the seed's "logloss-mgd"): DETRDistillLoss on the decoder outputs
# (constant weight 1, detr_kd_rtdetr_digits.py) and MGD on the hybrid encoder's outputs
# (mgd_rtdetr_digits.py) with a linear schedule: its weight falls from 1 to 0.1 over
# the 1500 iterations. Logged as distill.detr and distill.neck, each after its factor
# (factor.neck is the MGD weight of the step).
_base_ = ['./mgd_rtdetr_digits.py']
model = dict(distill=dict(
    detr=_base_.detr_entry,
    neck=dict(schedule=dict(type='linear', start=1.0, end=0.1))))
