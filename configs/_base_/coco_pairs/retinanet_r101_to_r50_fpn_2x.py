# COCO detector pair for distillation: RetinaNet R50-FPN student (2x schedule, 37.4 box AP alone)
# <- RetinaNet R101-FPN teacher (2x, 38.9 box AP), both from the MMDetection model zoo; the pair
# of CrossKD's RetinaNet row. Both FPNs and heads are 256 wide (4 head convs, five levels). A
# recipe inheriting this file adds its model.distill entries; teacher_ckpt is the zoo checkpoint
# of the teacher config. Needs GPUs and data/coco/ (MMDetection layout).
_base_ = ['mmdet::retinanet/retinanet_r50_fpn_2x_coco.py']

teacher_ckpt = ('https://download.openmmlab.com/mmdetection/v2.0/retinanet/'
                'retinanet_r101_fpn_2x_coco/'
                'retinanet_r101_fpn_2x_coco_20200131-5560aee8.pth')

model = dict(
    _delete_=True,
    type='kd.SingleTeacherDistiller',
    student=_base_.model,
    teacher=dict(config='mmdet::retinanet/retinanet_r101_fpn_2x_coco.py',
                 checkpoint=teacher_ckpt),
    distill=dict())

# the hooks and loop of every kd recipe: the student's checkpoint at the end, a check that
# distributed ranks end with the same weights, and the teacher evaluated once beside the
# student (logged as teacher/<metric>; best checkpoints follow the student)
custom_hooks = [dict(type='kd.StudentCheckpointHook'),
                dict(type='kd.WeightsConsistencyHook')]
val_cfg = dict(type='kd.DistillValLoop')
