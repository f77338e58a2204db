# RT-DETR logit distillation on the decoder outputs (the seed's RTDETRLogicLoss role):
# DETRDistillLoss, Hungarian-matched class and box KD on every student decoder layer.
# RT-DETR R18-vd/4, 128-d, 3 decoder layers (2.77 M, rtdetr_student_digits.py) <- RT-DETR R18-vd/2,
# 128-d, 6 decoder layers (5.61 M, rtdetr_teacher_digits.py) on DigitsDet.
#
# Both sides record `bbox_head.forward` (RTDETRHead): (class logits, boxes) of every
# decoder layer, (layers, N, queries, 10) and (layers, N, queries, 4), boxes as
# normalised cx, cy, w, h. In training the student's record holds its denoising
# queries in front of its 30 matching queries (as DINO's); the loss keeps the last 30.
# The teacher runs in tensor mode (chosen for DETR-family models), i.e. in eval mode:
# no denoising queries, its 30 queries from its own IoU-aware query selection. The
# teacher's last layer gives the targets for each of the student's 3 layers.
# Train the teacher first: tools/train.py configs/rtdetr/rtdetr_teacher_digits.py
_base_ = ['./rtdetr_student_digits.py']

teacher_ckpt = 'work_dirs/rtdetr_teacher_digits/iter_1500.pth'

# the logit entry, reused by the logit + feature recipes (detr_kd_*_rtdetr_digits.py)
detr_entry = dict(
    student=dict(source='bbox_head.forward', type='method_outputs'),
    teacher=dict(source='bbox_head.forward', type='method_outputs'),
    levelwise=False,              # hand the (logits, boxes) pair over whole
    loss=dict(
        type='DETRDistillLoss',
        num_queries=_base_.num_queries,   # the student's matching queries (30)
        score_thr=0.3,            # teacher queries above this become targets
        per_layer=True,           # every student decoder layer, as RT-DETR's aux losses
        unmatched='background',
        loss_weight=1.0))

model = dict(
    _delete_=True,
    type='kd.SingleTeacherDistiller',
    student=_base_.model,
    teacher=dict(config='kd::rtdetr/rtdetr_teacher_digits.py', checkpoint=teacher_ckpt),
    probe_shape=(3, 96, 96),
    distill=dict(detr=detr_entry))
