# BYOT-style self-distillation (Zhang et al. ICCV 2019) on DigitsCls: exits after stages 1 and 2
# of the CIFAR ResNet-8 learn from labels and from the network's own deepest logits
# (alpha 0.3, tau 3). No teacher to train; the exported student is the plain ResNet-8.
_base_ = ['../baselines/resnet_student_digits_cls.py']

model = dict(
    _delete_=True,
    type='kd.LayerwiseSelfDistiller',
    student=_base_.model,
    probe_shape=(3, 32, 32),
    distill=dict(
        exit1=dict(student=dict(source='backbone', index=0), teacher='head.fc',
                   connector=dict(type='ExitClassifierConnector', num_downsamples=2),
                   loss=dict(type='BYOTLoss', alpha=0.3, tau=3.0)),
        exit2=dict(student=dict(source='backbone', index=1), teacher='head.fc',
                   connector=dict(type='ExitClassifierConnector', num_downsamples=1),
                   loss=dict(type='BYOTLoss', alpha=0.3, tau=3.0))))
