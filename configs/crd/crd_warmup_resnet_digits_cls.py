# CRD at RepDistiller's settings (weight 0.8, 4096 negatives, T 0.07) with the distill weight
# ramped up linearly over the first 300 iterations (~3 of 10 epochs), as DKD ramps its loss.
_base_ = ['./crd_resnet_digits_cls.py']
model = dict(distill=dict(embedding=dict(schedule=dict(type='constant', warmup=300))))
