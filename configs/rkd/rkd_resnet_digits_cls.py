# RKD (relational KD, Park et al. CVPR 2019) on the pooled embedding (the classifier's input):
# distance weight 25, angle weight 50 (the paper's settings).
_base_ = ['../kd/kd_resnet_digits_cls.py']
model = dict(distill=dict(_delete_=True, embedding=dict(
    student=dict(source='head.fc', type='module_inputs', index=0),
    teacher=dict(source='head.fc', type='module_inputs', index=0),
    loss=dict(type='RKDLoss', w_dist=25.0, w_angle=50.0))))
