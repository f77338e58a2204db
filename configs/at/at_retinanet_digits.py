# AT (attention transfer, Zagoruyko & Komodakis ICLR 2017) on the 3 FPN levels, beta 1000.
_base_ = ['../quickstart/cwd_retinanet_digits.py']
model = dict(distill=dict(fpn=dict(
    _delete_=True, student='neck', teacher='neck',
    loss=dict(type='ATLoss', p=2, loss_weight=1000.0))))
