# ICKD / ChSim (inter-channel correlation, Liu et al. ICCV 2021) on the 3 FPN levels, weight 0.3;
# 1x1 conv + BN connector from 32 to 64 channels, as the reference's Embed.
# Weight set so the distill loss starts near the task loss (about 1.5-2.5 on this pair).
_base_ = ['../cwd/cwd_retinanet_digits.py']
model = dict(distill=dict(fpn=dict(
    connector=dict(type='ConvConnector', norm='bn', bias=False),
    loss=dict(_delete_=True, type='ICKDLoss', loss_weight=0.3))))
