# IRG (instance relationship graph, Liu et al. CVPR 2019): edge and transformation terms
# across the three backbone stages (levelwise=False: one loss sees all stages), the vertex
# term on the logits as in the paper: vertex 0.1, edge 5, transformation 5
# (Knowledge-Distillation-Zoo's settings). Two entries because the student's stages are
# half as wide as the teacher's (edges compare N x N distance matrices, any width).
_base_ = ['../kd/kd_resnet_digits_cls.py']
model = dict(distill=dict(
    _delete_=True,
    graph=dict(student='backbone', teacher='backbone', levelwise=False,
               loss=dict(type='IRGLoss', w_vertex=0.0, w_edge=5.0, w_transform=5.0)),
    vertex=dict(student='head.fc', teacher='head.fc',
                loss=dict(type='IRGLoss', w_vertex=0.1, w_edge=0.0, w_transform=0.0))))
