# Logit L2 matching (MSE between student and teacher logits, as in YOLO distillation), weight 1.
_base_ = ['../kd/kd_resnet_digits_cls.py']
model = dict(distill=dict(logits=dict(loss=dict(
    _delete_=True, type='LogitsMSELoss', loss_weight=1.0))))
