# MMYOLO's RTMDet distillation (MMRazor's FpnTeacherDistill) on COCO: CWD on the three
# neck outputs, RTMDet-m student <- RTMDet-l teacher, 300 epochs, 8 GPUs x 32 images.
# Published (MMYOLO configs/rtmdet/README.md, "Distillation"): RTMDet-m 49.3 -> 50.2 box AP
# with the RTMDet-l teacher (51.4); published numbers, not measured by kd.
# kd uses MMDetection 3.3's own RTMDet configs and checkpoints (mmdet's zoo: m 49.1, l 51.3
# box AP, published), so the checkpoint's keys are mmdet's and no key mapping is needed.
# The distill entries: ../_base_/distill/rtmdet_neck_cwd.py. Needs GPUs and data/coco/;
# the tests only build it.
_base_ = ['mmdet::rtmdet/rtmdet_m_8xb32-300e_coco.py', '../_base_/distill/rtmdet_neck_cwd.py']

# from mmdet/.mim/configs/rtmdet/metafile.yml (rtmdet_l_8xb32-300e_coco)
teacher_ckpt = ('https://download.openmmlab.com/mmdetection/v3.0/rtmdet/rtmdet_l_8xb32-300e_coco/'
                'rtmdet_l_8xb32-300e_coco_20220719_112030-5a0be7c4.pth')

model = dict(
    _delete_=True,
    type='kd.SingleTeacherDistiller',
    student=_base_.model,
    teacher=dict(config='mmdet::rtmdet/rtmdet_l_8xb32-300e_coco.py', checkpoint=teacher_ckpt),
    probe_shape=(3, 320, 320),
    distill=_base_.rtmdet_neck_cwd)   # ../_base_/distill/rtmdet_neck_cwd.py
# connectors get no gradient once distillation stops (epoch 280)
find_unused_parameters = True

# the student's EMAHook and PipelineSwitchHook (mmdet's RTMDet config) act on the student
# alone; distillation stops for the last 20 epochs (stage 2), as MMYOLO's recipe
# (mmrazor.DistillationLossDetachHook, detach_epoch=280)
custom_hooks = [dict(type='kd.StudentHook', hook=hook) for hook in _base_.custom_hooks] + [
    dict(type='kd.StopDistillHook', stop_epoch=_base_.max_epochs - _base_.stage2_num_epochs),
    dict(type='kd.StudentCheckpointHook'),
    dict(type='kd.WeightsConsistencyHook'),
]
# mmdet's runtime, not kd's: the teacher evaluation is named here
val_cfg = dict(type='kd.DistillValLoop')
