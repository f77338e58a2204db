# CTKD (curriculum temperature, Li et al. AAAI 2023): KD at a learnable temperature in (1, 21)
# trained through gradient reversal, lambda 0 -> 1 over the first 2 of 20 epochs (official: 10/240).
_base_ = ['../kd/kd_resnet_digits_cls.py']
model = dict(distill=dict(logits=dict(loss=dict(
    _delete_=True, type='CTKDLoss', tau_min=1.0, tau_range=20.0, lambda_start=0.0,
    lambda_end=1.0, lambda_epochs=2, loss_weight=1.0))))
