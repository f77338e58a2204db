# VID (variational information distillation, Ahn et al. CVPR 2019) on the three backbone stages,
# weight 1 per stage (RepDistiller's setting); channels are filled in from a probe forward.
_base_ = ['../kd/kd_resnet_digits_cls.py']
model = dict(distill=dict(_delete_=True, stages=dict(
    student='backbone', teacher='backbone', loss=dict(type='VIDLoss', loss_weight=1.0))))
