# DOT (Zhao et al. ICCV 2023) on KD (CE x 0.1 + 0.9 x KD at tau 4, the pair's KD recipe): SGD with
# task momentum 0.9 - 0.075 and distillation momentum 0.9 + 0.075 (mdistiller's DOT.DELTA 0.075),
# lr 0.05, weight decay 5e-4. Published top-1: docs/cifar100.md.
_base_ = ['../kd/kd_vgg13_vgg8_cifar100.py']
optim_wrapper = dict(
    _delete_=True, type='kd.DOTOptimWrapper', delta=0.075,
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=5e-4))
