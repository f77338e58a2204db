# Workflow: loss-weight schedule. KD (tau 4) whose weight decays from 1 to 0.1 on a cosine over
# the 20 epochs (by epoch; the factor is logged as factor.logits).
_base_ = ['./kd_resnet_digits_cls.py']
model = dict(distill=dict(logits=dict(
    schedule=dict(type='cosine', start=1.0, end=0.1, by_epoch=True))))
