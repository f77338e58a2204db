# Objectness-scaled YOLOv3 distillation (Mehta & Ozturk 2018, PaddleDetection's
# DistillYOLOv3Loss) on COCO: YOLOv3 MobileNetV2 student (multi-scale 320-416,
# 300 epochs, 8 GPUs x 24 images; 23.9 box AP alone in MMDetection's model zoo)
# <- YOLOv3 DarkNet-53 teacher (multi-scale 608, 33.7 box AP). Both heads use the
# same anchors, strides and 80 classes, so the raw maps are compared directly.
# Needs GPUs and data/coco/ (MMDetection layout); the tests only build it.
_base_ = ['mmdet::yolo/yolov3_mobilenetv2_8xb24-ms-416-300e_coco.py']

# from mmdet/.mim/configs/yolo/metafile.yml (yolov3_d53_mstrain-608_273e_coco)
teacher_ckpt = ('https://download.openmmlab.com/mmdetection/v2.0/yolo/'
                'yolov3_d53_mstrain-608_273e_coco/'
                'yolov3_d53_mstrain-608_273e_coco_20210518_115020-a2c3acb8.pth')

model = dict(
    _delete_=True,
    type='kd.SingleTeacherDistiller',
    student=_base_.model,
    # the DarkNet teacher normalises to [0, 1]; the distiller converts the
    # student's batch for it
    teacher=dict(config='mmdet::yolo/yolov3_d53_8xb8-ms-608-273e_coco.py',
                 checkpoint=teacher_ckpt),
    probe_shape=(3, 320, 320),
    distill=dict(
        yolo=dict(
            student=dict(source='bbox_head', index=0),   # raw maps, strides 32/16/8
            teacher=dict(source='bbox_head', index=0),
            levelwise=False,
            # PaddleDetection: per-level means x 1000 beside task losses averaged over
            # images; MMDetection's YOLOv3 losses sum over the 24 images of a GPU, so
            # the same balance needs 1000 x 24
            loss=dict(type='YOLOObjectnessKDLoss', num_anchors=3, num_classes=80,
                      wh_loss='l1', obj_target='hard', reduction='mean',
                      loss_weight=1000 * 24))))

# the hooks and loop of every kd recipe: the student's checkpoint at the end, a check that
# distributed ranks end with the same weights, and the teacher evaluated once beside the
# student (logged as teacher/<metric>; best checkpoints follow the student)
# mmdet's runtime, not kd's (configs/_base_/default_runtime_*.py): the distillation hooks
# and the teacher evaluation are named here
custom_hooks = [dict(type='kd.StudentCheckpointHook'),
                dict(type='kd.WeightsConsistencyHook')]
val_cfg = dict(type='kd.DistillValLoop')
