# AT (attention transfer, Zagoruyko & Komodakis ICLR 2017) on the 3 FPN levels, weight 100.
# Weight set so the distill loss starts near the task loss (about 1.5-2.5 on this pair).
_base_ = ['../cwd/cwd_retinanet_digits.py']
model = dict(distill=dict(fpn=dict(
    _delete_=True, student='neck', teacher='neck',
    loss=dict(type='ATLoss', p=2, loss_weight=100.0))))
