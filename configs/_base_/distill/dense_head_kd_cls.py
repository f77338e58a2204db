# QFL-weighted soft-label KD on a dense head's classification outputs (all FPN
# levels at once, one normaliser): the `cls` entry of the quickstart dense-KD and
# CWD + dense-KD recipes. A recipe uses it as `distill=dict(cls=_base_.dense_head_kd_cls)`
# (a variable, not a config key).
dense_head_kd_cls = dict(
    student=dict(source='bbox_head', index=0),   # cls_scores, one per level
    teacher=dict(source='bbox_head', index=0),
    levelwise=False,                             # one normaliser over all levels
    loss=dict(type='DenseHeadKDLoss', tau=1.0, gamma=2.0, loss_weight=1.0))
