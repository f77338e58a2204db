# Workflow: logits + feature together. KD on logits (tau 4) and AT on the three backbone stages
# (weight 1000, RepDistiller's beta), each entry logged on its own (distill.logits, distill.stages).
_base_ = ['./kd_resnet_digits_cls.py']
model = dict(distill=dict(
    stages=dict(student='backbone', teacher='backbone',
                loss=dict(type='ATLoss', p=2, loss_weight=1000.0))))
