# Self-distillation on DigitsCls: the CIFAR ResNet-8 student learns from an
# exponential moving average of itself (logits KD, tau 4). No teacher training.
_base_ = ['../baselines/resnet_student_digits_cls.py']

model = dict(
    _delete_=True,
    type='kd.SelfDistiller',
    student=_base_.model,
    momentum=0.99,
    warmup_iters=100,
    probe_shape=(3, 32, 32),
    distill=dict(
        logits=dict(student='head.fc', teacher='head.fc',
                    loss=dict(type='KDLoss', tau=4.0, loss_weight=1.0))))

# the EMA "teacher" moves with the student: no one-off teacher evaluation
val_cfg = dict(evaluate_teacher=False)
