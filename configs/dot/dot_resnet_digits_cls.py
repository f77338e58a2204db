# DOT (distillation-oriented trainer, Zhao et al. ICCV 2023): KD (tau 4) trained with SGD whose
# task / distillation momenta are 0.9 -+ 0.075 at lr 0.05 (the paper's CIFAR-100 setting);
# compare with kd_sgd_resnet_digits_cls.py.
_base_ = ['./kd_sgd_resnet_digits_cls.py']
optim_wrapper = dict(
    _delete_=True, type='kd.DOTOptimWrapper', delta=0.075,
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=5e-4))
