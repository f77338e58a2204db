# COCO detector pair for distillation: FCOS R50-caffe-FPN student (GN head, multi-scale 640-800,
# 2x, 38.5 box AP alone) <- FCOS R101-caffe-FPN teacher (same recipe, 40.8 box AP), both from
# the MMDetection model zoo. Both take caffe-style input normalisation; both FPNs are 256 wide
# with five outputs (P3-P7). MMDetection's FCOS config already clips gradients at 35. A recipe
# inheriting this file adds its model.distill entries; teacher_ckpt is the zoo checkpoint of
# the teacher config. Needs GPUs and data/coco/ (MMDetection layout).
_base_ = ['mmdet::fcos/fcos_r50-caffe_fpn_gn-head_ms-640-800-2x_coco.py']

teacher_ckpt = ('https://download.openmmlab.com/mmdetection/v2.0/fcos/'
                'fcos_r101_caffe_fpn_gn-head_mstrain_640-800_2x_coco/'
                'fcos_r101_caffe_fpn_gn-head_mstrain_640-800_2x_coco-511424d6.pth')

model = dict(
    _delete_=True,
    type='kd.SingleTeacherDistiller',
    student=_base_.model,
    teacher=dict(config='mmdet::fcos/fcos_r101-caffe_fpn_gn-head_ms-640-800-2x_coco.py',
                 checkpoint=teacher_ckpt),
    distill=dict())

# the hooks and loop of every kd recipe: the student's checkpoint at the end, a check that
# distributed ranks end with the same weights, and the teacher evaluated once beside the
# student (logged as teacher/<metric>; best checkpoints follow the student)
custom_hooks = [dict(type='kd.StudentCheckpointHook'),
                dict(type='kd.WeightsConsistencyHook')]
val_cfg = dict(type='kd.DistillValLoop')
