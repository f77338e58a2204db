# NST (neuron selectivity transfer, Huang & Wang 2017) on the 3 FPN levels: polynomial-kernel
# MMD of channel maps, weight 5; channels may differ, no connector.
# Weight set so the distill loss starts near the task loss (about 1.5-2.5 on this pair).
_base_ = ['../cwd/cwd_retinanet_digits.py']
model = dict(distill=dict(fpn=dict(
    _delete_=True, student='neck', teacher='neck',
    loss=dict(type='NSTLoss', kernel='poly', loss_weight=5.0))))
