# The distill entries of MMYOLO/MMRazor's RTMDet recipe (configs/rtmdet/distillation of
# open-mmlab/mmyolo), shared by the DigitsDet and COCO recipes of configs/rtmdet_kd/:
# CWD (tau 1, weight 1) on the outputs of the three neck output convolutions (mmdet's
# neck.out_convs.<i>.conv, before their BN and activation; MMYOLO's
# neck.out_layers.<i>.conv). Student side: MMRazor's ConvModuleConnector (1x1, no bias,
# BN(affine=False, track_running_stats=False), no activation); teacher side: its
# NormConnector with the same BN. Channels come from the probe.
# A recipe uses it as `distill=_base_.rtmdet_neck_cwd` (a variable, not a config key).
rtmdet_neck_cwd = {
    f'fpn{i}': dict(
        student=f'neck.out_convs.{i}.conv', teacher=f'neck.out_convs.{i}.conv',
        connector=dict(type='ConvConnector', kernel_size=1, bias=False, norm='bn_batch'),
        teacher_connector=dict(type='NormConnector', mode='batch'),
        loss=dict(type='ChannelWiseDivergence', tau=1.0, loss_weight=1.0))
    for i in range(3)}
