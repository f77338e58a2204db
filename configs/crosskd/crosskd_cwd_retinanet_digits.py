# CrossKD + CWD together, distillation stopped for the last 200 of 3000 iterations
# (~7 %, as MMYOLO's RTMDet distillation recipe stops before its last epochs):
# the CrossKD recipe's cross-head loss on the head, plus CWD on the three FPN levels
# (the CWD recipe's loss, unchanged), on the RetinaNet R18/8 <- R18/2 DigitsDet pair.
# Each loss is logged on its own (distill.crosskd, distill.fpn).
# Train the teacher first: tools/train.py configs/baselines/retinanet_teacher_digits.py
_base_ = ['./crosskd_retinanet_digits.py']

stop_iter = _base_.max_iters - 200
model = dict(
    distill=dict(
        fpn=dict(
            student='neck', teacher='neck',
            connector=dict(type='ConvConnector'),   # 16 -> 64 channels, per level
            loss=dict(type='ChannelWiseDivergence', tau=1.0, loss_weight=1.0))))
custom_hooks = [dict(type='kd.StopDistillHook', stop_iter=stop_iter)]
