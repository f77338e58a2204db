# Workflow: online distillation (deep mutual learning style). The ResNet-20 teacher starts from
# random weights and trains on its own labels loss (logged as teacher.loss_cls) while the ResNet-8
# student learns from it with KD (tau 4); no pre-trained teacher.
_base_ = ['./kd_resnet_digits_cls.py']
model = dict(teacher=dict(checkpoint=None, allow_random_init=True, trainable=True))
