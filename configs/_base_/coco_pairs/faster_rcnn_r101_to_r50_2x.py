# COCO detector pair for distillation: Faster R-CNN R50-FPN student (2x, 38.4 box AP alone) <-
# Faster R-CNN R101-FPN teacher (2x, 39.8 box AP), both from the MMDetection model zoo. Both
# FPNs are 256 wide with five outputs (P2-P6, P6 a max-pool of P5; recipes usually distil
# levels 0-3). A recipe inheriting this file adds its model.distill entries (and any
# student_init_from_teacher / gradient clipping); teacher_ckpt is the zoo checkpoint of the
# teacher config. Needs GPUs and data/coco/ (MMDetection layout).
_base_ = ['mmdet::faster_rcnn/faster-rcnn_r50_fpn_2x_coco.py']

teacher_ckpt = ('https://download.openmmlab.com/mmdetection/v2.0/faster_rcnn/'
                'faster_rcnn_r101_fpn_2x_coco/'
                'faster_rcnn_r101_fpn_2x_coco_bbox_mAP-0.398_20200504_210455-1d2dac9c.pth')

model = dict(
    _delete_=True,
    type='kd.SingleTeacherDistiller',
    student=_base_.model,
    teacher=dict(config='mmdet::faster_rcnn/faster-rcnn_r101_fpn_2x_coco.py',
                 checkpoint=teacher_ckpt),
    distill=dict())

# the hooks and loop of every kd recipe: the student's checkpoint at the end, a check that
# distributed ranks end with the same weights, and the teacher evaluated once beside the
# student (logged as teacher/<metric>; best checkpoints follow the student)
custom_hooks = [dict(type='kd.StudentCheckpointHook'),
                dict(type='kd.WeightsConsistencyHook')]
val_cfg = dict(type='kd.DistillValLoop')
