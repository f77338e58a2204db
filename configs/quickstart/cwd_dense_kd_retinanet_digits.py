# CWD on the three FPN levels + QFL-weighted soft-label KD on the classification
# logits, together (each logged as its own distill.<entry>): the feature recipe
# of cwd_retinanet_digits.py and the logit recipe of dense_kd_retinanet_digits.py.
_base_ = ['./cwd_retinanet_digits.py']

model = dict(
    distill=dict(
        cls=dict(
            student=dict(source='bbox_head', index=0),   # cls_scores, one per level
            teacher=dict(source='bbox_head', index=0),
            levelwise=False,                             # one normaliser over all levels
            loss=dict(type='DenseHeadKDLoss', tau=1.0, gamma=2.0, loss_weight=1.0))))
