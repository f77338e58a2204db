# CTKD (Li et al. AAAI 2023) as its CIFAR script runs it: CE x 0.1 + 0.9 x KD at a learnable global
# temperature 1 + 20 sigmoid(theta) trained through gradient reversal, lambda 0 -> 1 (cosine) over
# the first 10 epochs (--t_start 1 --t_end 20 --decay_max 0 --decay_min -1 --decay_loops 10).
# Published top-1: docs/cifar100.md.
_base_ = ['../kd/kd_vgg13_vgg8_cifar100.py']
model = dict(distill=dict(logits=dict(loss=dict(
    _delete_=True, type='CTKDLoss', tau_min=1.0, tau_range=20.0, lambda_start=0.0,
    lambda_end=1.0, lambda_epochs=10, loss_weight=0.9))))
