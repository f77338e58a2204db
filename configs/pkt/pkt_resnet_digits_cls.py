# PKT (probabilistic knowledge transfer, Passalis & Tefas ECCV 2018) on the pooled embedding,
# weight 30000 (RepDistiller's CIFAR setting).
_base_ = ['../kd/kd_resnet_digits_cls.py']
model = dict(distill=dict(_delete_=True, embedding=dict(
    student=dict(source='head.fc', type='module_inputs', index=0),
    teacher=dict(source='head.fc', type='module_inputs', index=0),
    loss=dict(type='PKTLoss', loss_weight=30000.0))))
