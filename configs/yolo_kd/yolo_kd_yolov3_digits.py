# YOLO objectness-scaled KD (Mehta & Ozturk 2018) on the three raw YOLOv3 output maps.
# The teacher's objectness gates the box and class terms of every anchor and
# objectness itself is distilled everywhere (soft targets, the paper's form; L1 on
# w, h as PaddleDetection's DistillYOLOv3Loss). YOLOv3 R18/4 student <- YOLOv3 R18/2
# teacher on DigitsDet; same anchors, strides and classes, so no connector.
# Train the teacher first: tools/train.py configs/yolo_kd/yolov3_teacher_digits.py
# Weight: sums over the batch like the YOLOv3 task losses, weight 1 (the paper's
# lambda_D = 1): with a teacher trained for 60 iterations the distill loss started at
# 2.1e3 beside a task loss of 1.6e3; 1.2e3 of it is the teacher's binary entropy, the
# constant floor of the soft-target BCE terms (see configs/yolo_kd/README.md).
_base_ = ['./yolov3_student_digits.py']

teacher_ckpt = 'work_dirs/yolov3_teacher_digits/iter_3000.pth'

model = dict(
    _delete_=True,
    type='kd.SingleTeacherDistiller',
    student=_base_.model,
    teacher=dict(config='kd::yolo_kd/yolov3_teacher_digits.py', checkpoint=teacher_ckpt),
    probe_shape=(3, 96, 96),
    distill=dict(
        yolo=dict(
            student=dict(source='bbox_head', index=0),   # raw maps, one per level
            teacher=dict(source='bbox_head', index=0),
            levelwise=False,
            loss=dict(type='YOLOObjectnessKDLoss', num_anchors=3,
                      num_classes=_base_.model.bbox_head.num_classes,
                      wh_loss='l1', obj_target='soft', reduction='sum',
                      loss_weight=1.0))))
