# IRG (instance relationship graph, Liu et al. CVPR 2019) across the three backbone stages
# (levelwise=False: one loss sees all stages): vertex 0.1, edge 5, transformation 5
# (Knowledge-Distillation-Zoo's settings).
_base_ = ['../kd/kd_resnet_digits_cls.py']
model = dict(distill=dict(_delete_=True, graph=dict(
    student='backbone', teacher='backbone', levelwise=False,
    loss=dict(type='IRGLoss', w_vertex=0.1, w_edge=5.0, w_transform=5.0))))
