# MLKD (Jin et al. CVPR 2023): CE x 0.1 + 0.9 x sum over T in (4, 3, 5, 2, 6) of the instance, batch
# and class alignment terms (mdistiller's KD weights). One view per step: the official run adds a
# strongly augmented view and trains 480 epochs at lr 0.025; this recipe keeps 240 epochs.
# Published top-1: docs/cifar100.md.
_base_ = ['../kd/kd_resnet32x4_resnet8x4_cifar100.py']
model = dict(distill=dict(logits=dict(loss=dict(
    _delete_=True, type='MLKDLoss', temperatures=(4.0, 3.0, 5.0, 2.0, 6.0), loss_weight=0.9))))
