# COCO detector pair for distillation: GFL R50-FPN student (1x, 40.2 box AP alone) <- GFL
# R101-FPN teacher (multi-scale 2x, 44.7 box AP), both from the MMDetection model zoo; the pair
# of MMRazor's GFL CWD recipes. Both FPNs are 256 wide with five outputs (P3-P7). A recipe
# inheriting this file adds its model.distill entries (and any student_init_from_teacher /
# gradient clipping); teacher_ckpt is the zoo checkpoint of the teacher config.
# Needs GPUs and data/coco/ (MMDetection layout).
_base_ = ['mmdet::gfl/gfl_r50_fpn_1x_coco.py']

teacher_ckpt = ('https://download.openmmlab.com/mmdetection/v2.0/gfl/'
                'gfl_r101_fpn_mstrain_2x_coco/'
                'gfl_r101_fpn_mstrain_2x_coco_20200629_200126-dd12f847.pth')

model = dict(
    _delete_=True,
    type='kd.SingleTeacherDistiller',
    student=_base_.model,
    teacher=dict(config='mmdet::gfl/gfl_r101_fpn_ms-2x_coco.py', checkpoint=teacher_ckpt),
    distill=dict())

# the hooks and loop of every kd recipe: the student's checkpoint at the end, a check that
# distributed ranks end with the same weights, and the teacher evaluated once beside the
# student (logged as teacher/<metric>; best checkpoints follow the student)
custom_hooks = [dict(type='kd.StudentCheckpointHook'),
                dict(type='kd.WeightsConsistencyHook')]
val_cfg = dict(type='kd.DistillValLoop')
