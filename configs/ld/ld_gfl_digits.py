# LD (localization distillation, Zheng et al. CVPR 2022) on the positives and the VLR.
# KL between the teacher's and the student's box-edge distributions (tau 10) on the
# ATSS positives (weighted by the student's score) and on the valuable localization
# region (weighted by IoU). GFL R18/4 student <- GFL R18/2 teacher on DigitsDet; both
# heads share strides, anchors and reg_max, so no connector is needed.
# Train the teacher first: tools/train.py configs/ld/gfl_teacher_digits.py
# Weights: per-anchor weighted means (normalize='mean'), 1.0 for each region: with a
# teacher trained for only 60 iterations the distill loss started at 1.7 (main 1.0,
# VLR 0.7) beside a task loss of 2.3; the reference's per-GPU sums with 0.25 / 0.25
# gave 7.9 on this batch of 16 (see configs/ld/README.md).
_base_ = ['./gfl_student_digits.py']

teacher_ckpt = 'work_dirs/gfl_teacher_digits/iter_3000.pth'

model = dict(
    _delete_=True,
    type='kd.SingleTeacherDistiller',
    student=_base_.model,
    teacher=dict(config='kd::ld/gfl_teacher_digits.py', checkpoint=teacher_ckpt),
    probe_shape=(3, 96, 96),
    distill=dict(
        ld=dict(
            student=dict(source='bbox_head'),    # (cls_scores, bbox_preds), every level
            teacher=dict(source='bbox_head'),
            levelwise=False,                     # regions need all levels and data_samples
            loss=dict(
                type='LDLoss',
                anchor_generator=_base_.model.bbox_head.anchor_generator,
                reg_max=_base_.model.bbox_head.reg_max,
                tau=10.0, topk=9, alpha_vlr=0.25,
                # per-anchor weighted means: batch 16 on one process, where the
                # reference sums over the 2 images of each GPU
                normalize='mean', loss_weight=1.0, vlr_weight=1.0))))
