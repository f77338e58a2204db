# YOLO objectness-gated output KD (Mehta & Ozturk 2018) on the raw YOLOX head outputs:
# the teacher's objectness gates the box and class terms of every location, and
# objectness is distilled everywhere (soft targets, the paper's form); L1 on x, y, w, h
# (YOLOX's x, y are raw offsets, not sigmoids: YOLOObjectnessKDLoss layout='yolox').
# YOLOX-tiny style student <- YOLOX-s style teacher on DigitsDet; same strides and
# classes, so no connector. The mode switch, SyncNorm and EMA act on the student
# (kd.StudentHook, inherited from the student config).
# Weight (not tuned, no run measured): per-location means x 10. YOLOX's task losses are
# sums over the 189 locations of a canvas divided by the SimOTA positives (about 10-20
# per canvas here), i.e. about 10 x a per-location mean; weight 10 puts the distill
# terms on that scale (PaddleDetection's YOLOv3 recipe: means x 1000 beside per-image
# task losses on 608-px images).
# Train the teacher first: tools/train.py configs/yolox_kd/yolox_teacher_digits.py
_base_ = ['./yolox_student_digits.py']

teacher_ckpt = 'work_dirs/yolox_teacher_digits/epoch_20.pth'

model = dict(
    _delete_=True,
    type='kd.SingleTeacherDistiller',
    student=_base_.model,
    teacher=dict(config='kd::yolox_kd/yolox_teacher_digits.py', checkpoint=teacher_ckpt),
    probe_shape=(3, 96, 96),
    distill=dict(
        yolox=dict(
            student='bbox_head', teacher='bbox_head',   # (cls_scores, bbox_preds, objectnesses)
            levelwise=False,
            loss=dict(type='YOLOObjectnessKDLoss', layout='yolox', num_anchors=1,
                      num_classes=_base_.model.bbox_head.num_classes,
                      wh_loss='l1', obj_target='soft', reduction='mean',
                      loss_weight=10.0))))

custom_hooks = [
    _base_.mode_switch_hook,
    _base_.sync_norm_hook,
    _base_.ema_hook,
]
