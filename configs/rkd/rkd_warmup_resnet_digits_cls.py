# RKD at the paper's weights (distance 25, angle 50) with the distill weight ramped up linearly
# over the first 300 iterations (~3 of 10 epochs), as DKD ramps its loss: the student first
# leaves its early cross-entropy plateau, then follows the teacher's relations.
_base_ = ['./rkd_resnet_digits_cls.py']
model = dict(distill=dict(embedding=dict(schedule=dict(type='constant', warmup=300))))
