# RKD with 1/25 of the paper's weights (distance 1, angle 2): the relation loss starts well below
# the cross-entropy (about 0.15 vs 2.3) instead of above it; a tuned variant, not the paper's.
_base_ = ['./rkd_resnet_digits_cls.py']
model = dict(distill=dict(embedding=dict(loss=dict(w_dist=1.0, w_angle=2.0))))
