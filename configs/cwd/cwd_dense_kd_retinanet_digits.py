# CWD on the three FPN levels + QFL-weighted soft-label KD on the classification
# logits, together (each logged as its own distill.<entry>): the feature recipe
# of cwd_retinanet_digits.py and the logit entry of dense_kd_retinanet_digits.py
# (../_base_/distill/dense_head_kd_cls.py).
_base_ = ['./cwd_retinanet_digits.py', '../_base_/distill/dense_head_kd_cls.py']

model = dict(distill=dict(cls=_base_.dense_head_kd_cls))
