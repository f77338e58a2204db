# SP (similarity-preserving KD, Tung & Mori ICCV 2019) on the last backbone stage, weight 3000
# (RepDistiller's CIFAR setting): ResNet-8 student <- ResNet-20 teacher on DigitsCls.
_base_ = ['../kd/kd_resnet_digits_cls.py']
model = dict(distill=dict(_delete_=True, stage3=dict(
    student=dict(source='backbone', index=2), teacher=dict(source='backbone', index=2),
    loss=dict(type='SPKDLoss', loss_weight=3000.0))))
